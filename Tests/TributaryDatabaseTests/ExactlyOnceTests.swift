import Foundation
import Logging
import Testing
import TributaryCore
import TributaryEngine
import TributaryHTTP
import TributarySQL

/// Nothing lost, nothing doubled, whatever breaks between applying a batch and hearing the ack.
@Suite struct ExactlyOnceTests {
    /// Starts `tributary sync`, SIGKILLs it after `delay` ms if it still runs; true when it was killed.
    static func syncKilled(after delay: Int, config: String) async throws -> Bool {
        let process = Process()
        process.executableURL = try CommandLineTests.executable()
        process.arguments = ["sync", "--config", config]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        try await Task.sleep(for: .milliseconds(delay))
        let running = process.isRunning
        if running { kill(process.processIdentifier, SIGKILL) }
        while process.isRunning { try await Task.sleep(for: .milliseconds(10)) }
        return running
    }

    static func obsCount(_ node: SyncNode, _ prefix: String) async throws -> Int64 {
        try await SyncFlowTests.rowCount(node, "obs", uuidPrefix: prefix)
    }

    @Test(arguments: TestDatabase.all)
    func aBatchAppliedWhoseAckWasLostIsAcknowledgedAgainAndAppliedOnce(on kind: TestDatabase) async throws {
        let (parent, parentDB) = try await TestTree.node("central", group: "central", on: kind)
        let (child, childDB) = try await TestTree.node("clinic-1", group: "clinic", on: .sqlite)
        defer { Task { await parent.close(); await child.close() } }
        try await TestTree.link(child: child, to: parent)
        let person = SyncFlowTests.uuid(), prefix = String(person.prefix(30))
        try childDB.client(SyncFlowTests.patientScript(.sqlite, person: person, family: "Twice"))
        // Up: the parent applies, the child never hears it (crash, cut link) and sends again.
        try await child.route()
        for pending in try await child.pending(for: parent.id) {
            let ack = await parent.apply(try await child.batch(pending))
            #expect(ack.status == .applied, "\(ack.failure?.cause ?? "")")
        }
        let again = try await TestTree.deliver(from: child, to: parent)
        #expect(!again.isEmpty && again.allSatisfy { $0.status == .applied && $0.duplicate }, "\(again)")
        #expect(try await Self.obsCount(parent, prefix) == 3)
        #expect(try await child.pending(for: parent.id).isEmpty)

        // Down: the child applies, the parent never hears it and sends again.
        try parentDB.client("UPDATE obs SET value_numeric = 38.5 WHERE uuid = '\(prefix)obs002';")
        try await parent.route()
        for pending in try await parent.pending(for: child.id) {
            let ack = await child.apply(try await parent.batch(pending))
            #expect(ack.status == .applied, "\(ack.failure?.cause ?? "")")
        }
        let down = try await TestTree.deliver(from: parent, to: child)
        #expect(!down.isEmpty && down.allSatisfy { $0.duplicate }, "\(down)")
        let value = try await child.database.scalar("SELECT value_numeric FROM obs WHERE uuid = \(prefix + "obs002")")
        #expect(ColumnKind.double.normalize(value) == .double(38.5))
        // The change applied at the child once: one captured change with the parent as source.
        let fromParent = try await ChangeLog.read(child.database).filter { $0.sourceNode == "central" && $0.table == "obs" }
        #expect(fromParent.count == 1)
    }

    /// The child is killed (SIGKILL) again and again in the middle of its rounds; a final
    /// round brings everything, once.
    @Test(arguments: TestDatabase.all.filter { $0 != .sqlite })
    func killingTheChildMidRoundLosesAndDoublesNothing(parentKind: TestDatabase) async throws {
        let (parent, _) = try await TestTree.node("central", group: "central", on: parentKind)
        defer { Task { await parent.close() } }
        let childDB = try await TestDatabase.sqlite.fresh(.coreAndSampleData)
        await childDB.close()
        try await withServer(parent) { url in
            let config = FileManager.default.temporaryDirectory.appendingPathComponent("tributary-kill-\(UUID().uuidString).yaml")
            try """
            node: { id: clinic-9, group: clinic }
            database: \(childDB.url)
            parent: { url: "\(url)", registration_token: test-token }
            sync: { batch_size: 40 }
            """.write(to: config, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(at: config) }
            #expect(try await CommandLineTests.runAsync(["sync", "--config", config.path]).status == 0)  // registers, installs capture
            var persons: [String] = []
            for i in 0..<20 {
                let person = SyncFlowTests.uuid()
                persons.append(person)
                try childDB.client(SyncFlowTests.patientScript(.sqlite, person: person, family: "Kill\(i)"))
            }
            for delay in [30, 80, 150, 250, 400, 600] {
                _ = try await Self.syncKilled(after: delay, config: config.path)
            }
            let final = try await CommandLineTests.runAsync(["sync", "--config", config.path])
            #expect(final.status == 0, "\(final.output) \(final.errors)")
            let last = try await CommandLineTests.runAsync(["sync", "--config", config.path])
            #expect(last.output.contains("pushed 0 batch(es)"), "\(last.output)")
            for person in persons {
                #expect(try await Self.obsCount(parent, String(person.prefix(30))) == 3, "patient \(person)")
            }
            #expect(try await parent.database.scalar("SELECT COUNT(*) FROM person_name WHERE family_name LIKE 'Kill%'").int64 == 20)
            #expect(try await NodeStatus.read(parent).incomingErrors == 0)
        }
    }

    /// The child is killed (SIGKILL) again and again while it pulls and applies its initial
    /// load; later rounds complete it, and the two databases end equal, nothing doubled.
    @Test(arguments: TestDatabase.all.filter { $0 != .sqlite })
    func killingTheChildWhileItLoadsLosesAndDoublesNothing(parentKind: TestDatabase) async throws {
        let (parent, _) = try await TestTree.node("central", group: "central", on: parentKind)
        defer { Task { await parent.close() } }
        let childDB = try await TestDatabase.sqlite.fresh(.coreData)
        await childDB.close()
        try await withServer(parent) { url in
            let config = FileManager.default.temporaryDirectory.appendingPathComponent("tributary-kill-\(UUID().uuidString).yaml")
            try """
            node: { id: clinic-8, group: clinic }
            database: \(childDB.url)
            parent: { url: "\(url)", registration_token: test-token }
            """.write(to: config, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(at: config) }
            var killed = 0
            for delay in [400, 700, 1000, 1300, 1600, 2000] {
                if try await Self.syncKilled(after: delay, config: config.path) { killed += 1 }
            }
            #expect(killed > 0, "no sync was interrupted; the test proves nothing")
            for _ in 0..<4 {
                let round = try await CommandLineTests.runAsync(["sync", "--config", config.path])
                #expect(round.status == 0, "\(round.output) \(round.errors)")
            }
            let child = try await SyncNode.open(try NodeConfiguration.load(path: config.path))
            defer { Task { await child.close() } }
            #expect(try await child.initialLoadState() == .done)
            let differences = try await TableSnapshot.differences(parent, child)
            #expect(differences.isEmpty, "\(differences.count): \(differences.prefix(5))")
            #expect(try await NodeStatus.read(child).incomingErrors == 0)
            // Every batch the parent sent was applied once at the child.
            let applied = try await child.database.scalar("SELECT COUNT(*) FROM tributary_incoming_batch").int64
            let distinct = try await child.database.scalar("SELECT COUNT(DISTINCT batch_id) FROM tributary_incoming_batch").int64
            #expect(applied == distinct)
        }
    }
}
