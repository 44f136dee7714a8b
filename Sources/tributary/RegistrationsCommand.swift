import ArgumentParser
import Foundation
import TributaryCore
import TributaryEngine

struct RegistrationsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "registrations",
        abstract: "List children's registration requests; approve or reject one that waits.")

    @OptionGroup var options: NodeOptions
    @Option(name: .long, help: "Approve the request of this node id.") var approve: String?
    @Option(name: .long, help: "Reject the request of this node id.") var reject: String?
    @Flag(name: .long, help: "Print JSON.") var json = false

    func validate() throws {
        if approve != nil && reject != nil { throw ValidationError("give --approve or --reject, not both") }
    }

    func run() async throws {
        let node = try await SyncNode.open(try NodeConfiguration.load(path: options.config), logger: makeLogger("tributary"))
        defer { Task { await node.close() } }
        if let id = approve ?? reject {
            guard try await node.decideRegistration(NodeID(id), approve: approve != nil) else {
                await node.close()
                throw ValidationError("no registration request from '\(id)' here (see tributary registrations --config \(options.config))")
            }
            print(approve != nil ? "approved \(id): it is registered at its next attempt" : "rejected \(id)")
        }
        let records = try await node.registrations()
        await node.close()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(records), as: UTF8.self))
        } else if approve == nil && reject == nil {
            if records.isEmpty { print("no registration requests") }
            for record in records {
                print("\(record.node) (\(record.group)): \(record.status), requested \(record.requestedAt), last asked \(record.lastRequestAt)")
            }
        }
    }
}
