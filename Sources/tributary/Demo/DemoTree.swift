import Foundation
import TributaryCore
import TributaryEngine

/// The demo's four nodes on SQLite files in one folder: a central server with OpenMRS
/// sample data, a district, and two clinics that start as fresh OpenMRS installs.
struct DemoTree {
    struct Member {
        let id: String
        let group: String
        let parent: String?
        let listens: Bool
        let contents: OpenMRSDatabaseLoader.Contents
    }

    static let members = [
        Member(id: "central", group: "central", parent: nil, listens: true, contents: .coreAndSampleData),
        Member(id: "district", group: "district", parent: "central", listens: true, contents: .coreData),
        Member(id: "clinic-1", group: "clinic", parent: "district", listens: false, contents: .coreData),
        Member(id: "clinic-2", group: "clinic", parent: "district", listens: false, contents: .coreData),
    ]
    static let token = "demo-registration-token"

    let directory: URL
    var ports: [String: Int] = [:]

    func databasePath(_ id: String) -> String { directory.appendingPathComponent("\(id).db").path }
    func configPath(_ id: String) -> String { directory.appendingPathComponent("\(id).yaml").path }
    func url(_ id: String) -> String? { ports[id].map { "http://127.0.0.1:\($0)" } }

    /// Fresh databases (OpenMRS loaded) and a config file per node.
    mutating func create(progress: (String) -> Void) async throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for member in Self.members {
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: databasePath(member.id) + suffix) }
            if member.listens {
                guard let port = FreePort.find() else { throw DemoError("no free loopback port for \(member.id)") }
                ports[member.id] = port
            }
        }
        for member in Self.members {
            progress("  \(member.id): OpenMRS \(member.contents == .coreData ? "schema and core data (a fresh install)" : "schema, core and sample data") in \(databasePath(member.id))")
            let database = try await Databases.connect("sqlite:" + databasePath(member.id))
            try await OpenMRSDatabaseLoader.load(member.contents, into: database)
            await database.close()
            var yaml = "node:\n  id: \(member.id)\n  group: \(member.group)\ndatabase: \"sqlite:\(databasePath(member.id))\"\n"
            if let port = ports[member.id] { yaml += "listen: \"127.0.0.1:\(port)\"\nregistration:\n  tokens: [\"\(Self.token)\"]\n" }
            if let parent = member.parent, let url = url(parent) { yaml += "parent:\n  url: \"\(url)\"\n  registration_token: \"\(Self.token)\"\n" }
            yaml += "sync:\n  interval: 1s\n"
            try yaml.write(toFile: configPath(member.id), atomically: true, encoding: .utf8)
        }
    }
}

struct DemoError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
