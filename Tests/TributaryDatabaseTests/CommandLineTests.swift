import Foundation
import Testing
import TributaryEngine
import TributarySQL

/// The `tributary` executable as acceptance tests and people drive it.
@Suite struct CommandLineTests {
    /// The built executable sits beside the test bundle in SwiftPM's products directory.
    static func executable() throws -> URL {
        var directory = Bundle.main.bundleURL
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("tributary")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory.deleteLastPathComponent()
        }
        throw TestFailure("tributary executable not found near \(Bundle.main.bundleURL.path); run swift build first")
    }

    static func run(_ arguments: [String]) throws -> (status: Int32, output: String, errors: String) {
        let process = Process()
        process.executableURL = try executable()
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let output = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self), String(decoding: errors, as: UTF8.self))
    }

    /// `run` off Swift's cooperative threads: a test waiting for a `tributary` process that talks
    /// to this process's own HTTP server must not hold one of the (few) threads that server needs.
    static func runAsync(_ arguments: [String]) async throws -> (status: Int32, output: String, errors: String) {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try run(arguments) })
            }
        }
    }

    @Test(arguments: TestDatabase.all)
    func tablesCaptureAndChangesFromTheCommandLine(on kind: TestDatabase) async throws {
        let node = try await kind.fresh(.coreAndSampleData)
        defer { Task { await node.close() } }
        let config = FileManager.default.temporaryDirectory.appendingPathComponent("tributary-cli-\(UUID().uuidString).yaml")
        try "node:\n  id: clinic-01\n  group: clinic\ndatabase: \(node.url)\n".write(to: config, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: config) }

        let tables = try Self.run(["tables", "--config", config.path, "--json"])
        #expect(tables.status == 0, "\(tables.errors)")
        let objects = try #require(try JSONSerialization.jsonObject(with: Data(tables.output.utf8)) as? [[String: Any]])
        #expect(objects.count == 119)
        let byName = Dictionary(uniqueKeysWithValues: objects.map { ($0["table"] as! String, $0) })
        #expect(byName["patient"]?["key"] as? String == "parent")
        #expect(byName["scheduler_task_config_property"]?["key"] as? String == "none")
        #expect(byName["scheduler_task_config_property"]?["enabled"] as? Bool == false)

        let text = try Self.run(["tables", "--config", config.path])
        #expect(text.output.contains("scheduler_task_config_property: site-local"), "\(text.output)")

        let capture = try Self.run(["capture", "--config", config.path])
        #expect(capture.status == 0, "\(capture.errors)")
        #expect(capture.output.contains("108 installed"), "\(capture.output)")
        try node.client("UPDATE location SET name = 'Renamed clinic' WHERE location_id = (SELECT MIN(location_id) FROM (SELECT location_id FROM location) l);")
        let changes = try Self.run(["changes", "--config", config.path])
        #expect(changes.output.contains("update location"))
        #expect(changes.output.contains("changed: name"))
    }

    /// The README's main command: four SQLite nodes in one process, registered, loaded, edited, converged.
    @Test func demoOnceBuildsATreeAndConverges() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tributary-demo-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (status, output, errors) = try Self.run(["demo", "--dir", dir, "--once"])
        #expect(status == 0, "\(output)\n\(errors)")
        #expect(output.contains("Converged: all four databases hold the same rows"), "\(output)")
        #expect(output.contains("0 change(s) came back"), "\(output)")
        for node in ["central", "district", "clinic-1", "clinic-2"] {
            #expect(output.contains("\(node)") && FileManager.default.fileExists(atPath: "\(dir)/\(node).yaml"))
        }
        // Every clinic shows the patient made at clinic-1 and the location renamed at the central.
        #expect(output.components(separatedBy: "patient: Amina Okello").count == 5, "\(output)")
        #expect(output.components(separatedBy: "location: Central Hospital (renamed)").count == 5, "\(output)")
        // The files it leaves are a working configuration: status reads them.
        let (statusCode, statusOutput, _) = try Self.run(["status", "--config", "\(dir)/clinic-2.yaml", "--json"])
        #expect(statusCode == 0 && statusOutput.contains("\"initial_load\" : \"done\""), "\(statusOutput)")
    }

    @Test func badConfigurationIsRejectedWithAClearMessage() throws {
        let config = FileManager.default.temporaryDirectory.appendingPathComponent("tributary-bad-\(UUID().uuidString).yaml")
        try "node:\n  id: clinic-01\ndatabase: sqlite:/tmp/x.db\n".write(to: config, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: config) }
        let result = try Self.run(["tables", "--config", config.path])
        #expect(result.status != 0)
        #expect(result.errors.contains("node.group"))
        let missing = try Self.run(["tables", "--config", "/nonexistent/tributary.yaml"])
        #expect(missing.status != 0)
        #expect(missing.errors.contains("cannot read configuration file"))
    }
}

/// `tributary init` pointed at an installation's runtime properties reaches a running node.
@Suite struct InitCommandTests {
    @Test(arguments: TestDatabase.all.filter { $0 != .sqlite })
    func initWritesAConfigurationThatStatusAndCaptureRunOn(on kind: TestDatabase) async throws {
        let node = try await kind.fresh(.coreData)
        defer { Task { await node.close() } }
        switch try DatabaseURL(node.url) {
        case .postgres(let e): try await Self.check(jdbc: "jdbc:postgresql://\(e.host):\(e.port)/\(e.database)", user: e.user, node: node)
        case .mysql(let m): try await Self.check(jdbc: "jdbc:mysql://\(m.host):\(m.port)/\(m.database)?autoReconnect=true", user: m.user, node: node)
        case .sqlite: return
        }
    }

    static func check(jdbc: String, user: String, node: TestNode) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tributary-init-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let properties = dir.appendingPathComponent("openmrs-runtime.properties")
        try "connection.url=\(jdbc.replacingOccurrences(of: ":", with: "\\:"))\nconnection.username=\(user)\nconnection.password=\n"
            .write(to: properties, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("tributary.yaml").path
        let written = try CommandLineTests.run(["init", "--openmrs-runtime-properties", properties.path, "--node-id", "clinic-07",
                                                "--group", "clinic", "--parent", "http://127.0.0.1:8400", "--token", "let-me-in", "--out", out])
        #expect(written.status == 0, "\(written.errors)")
        #expect(written.output.contains("next: tributary start --config"))
        let again = try CommandLineTests.run(["init", "--openmrs-runtime-properties", properties.path, "--node-id", "clinic-07",
                                              "--group", "clinic", "--out", out])
        #expect(again.status != 0 && again.errors.contains("exists already"))
        let status = try CommandLineTests.run(["status", "--config", out, "--json"])
        #expect(status.status == 0, "\(status.errors)")
        #expect(status.output.contains("\"node\" : \"clinic-07\""), "\(status.output)")
        let tables = try await node.database.scalar("SELECT COUNT(*) FROM tributary_trigger").int64
        #expect(tables == 108, "status opened the node: capture is installed on the OpenMRS database")
    }
}
