import Foundation
import Testing
import TributaryCore
import TributaryEngine
import TributarySQL

/// `tributary purge` and `sync.retention`: what is delivered and settled goes, a row's changes
/// are compacted to the last stamp of each column, and nothing still on its way is touched.
@Suite struct PurgeTests {
    static func count(_ node: SyncNode, _ sql: SQL) async throws -> Int64 {
        try await node.database.scalar(sql).int64 ?? -1
    }

    @Test(arguments: [(TestDatabase.sqlite, TestDatabase.postgres), (.mariadb, .sqlite), (.postgres, .mariadb)]
        .filter { TestDatabase.all.contains($0.0) && TestDatabase.all.contains($0.1) })
    func purgeKeepsWhatIsOnItsWayAndTheLastStampOfEveryColumn(childKind: TestDatabase, parentKind: TestDatabase) async throws {
        let (parent, _) = try await TestTree.node("central", group: "central", on: parentKind)
        let (child, childDB) = try await TestTree.node("clinic-1", group: "clinic", on: childKind)
        defer { Task { await parent.close(); await child.close() } }
        try await TestTree.link(child: child, to: parent)
        let person = SyncFlowTests.uuid(), name = String(person.prefix(30)) + "name01"
        try childDB.client(SyncFlowTests.patientScript(childKind, person: person, family: "Purge"))
        for given in ["One", "Two", "Three"] {
            try childDB.client("UPDATE person_name SET given_name = '\(given)' WHERE uuid = '\(name)';")
        }
        try childDB.client("UPDATE person_name SET family_name = 'Purged' WHERE uuid = '\(name)';")
        try childDB.client("DELETE FROM obs WHERE uuid = '\(person.prefix(30))obs003';")
        try await TestTree.settle(child, parent)
        let pk = try #require(try await child.database.scalar("""
            SELECT pk FROM tributary_change WHERE table_name = 'person_name' AND operation = 'I' AND new_row LIKE \("%" + name + "%")
            """).string)
        #expect(try await Self.count(child, "SELECT COUNT(*) FROM tributary_change WHERE table_name = 'person_name' AND pk = \(pk)") == 5)

        // On its way: one change routed into a batch not yet delivered, one not routed at all.
        try childDB.client("UPDATE person_name SET middle_name = 'Pending' WHERE uuid = '\(name)';")
        try await child.route()
        try childDB.client("UPDATE person SET gender = 'M' WHERE uuid = '\(person)';")
        let pendingBefore = try await Self.count(child, "SELECT COUNT(*) FROM tributary_outgoing_batch WHERE status = 'pending'")
        #expect(pendingBefore >= 1)

        let report = try await child.purge(olderThan: 0)
        #expect(report.changes > 0 && report.outgoingBatches > 0, "\(report)")
        // The name's row: its insert (the stamp of the columns nothing changed since, its image
        // dropped), the last given_name change, the family_name change and the pending middle_name one.
        let kept = try await child.database.query("""
            SELECT operation, new_row FROM tributary_change WHERE table_name = 'person_name' AND pk = \(pk) ORDER BY change_id
            """)
        #expect(kept.map { $0.string("operation") ?? "?" } == ["I", "U", "U", "U"], "\(kept)")
        #expect(kept.first?.string("new_row") == nil)
        #expect(kept.dropFirst().first?.string("new_row")?.contains("Three") == true)
        // The delete stays (an update of the deleted row is checked against it), as does what is on its way.
        #expect(try await Self.count(child, "SELECT COUNT(*) FROM tributary_change WHERE table_name = 'obs' AND operation = 'D'") == 1)
        #expect(try await Self.count(child, "SELECT COUNT(*) FROM tributary_outgoing_batch WHERE status = 'pending'") == pendingBefore)
        #expect(try await Self.count(child, "SELECT COUNT(*) FROM tributary_outgoing_batch WHERE status = 'acked'") == 0)
        #expect(try await Self.count(child, "SELECT COUNT(*) FROM tributary_change WHERE table_name = 'person' AND new_row LIKE '%\"M\"%'") == 1)

        // The parent keeps the last applied batch of each channel (duplicates are still known as such).
        _ = try await parent.purge(olderThan: 0)
        let perChannel = try await parent.database.query("SELECT channel, COUNT(*) AS n FROM tributary_incoming_batch GROUP BY channel")
        #expect(!perChannel.isEmpty && perChannel.allSatisfy { $0.int("n") == 1 }, "\(perChannel)")

        // Nothing lost: both changes on their way arrive.
        try await TestTree.settle(child, parent)
        let middle = try await parent.database.scalar("SELECT middle_name FROM person_name WHERE uuid = \(name)").string
        let gender = try await parent.database.scalar("SELECT gender FROM person WHERE uuid = \(person)").string
        #expect(middle == "Pending" && gender == "M")

        // Conflicts are still decided by the stamps kept: the same column at both, the clinic later.
        try await Task.sleep(for: .milliseconds(20))
        _ = try await parent.database.execute("UPDATE person_name SET given_name = 'Central' WHERE uuid = \(name)")
        try await Task.sleep(for: .milliseconds(20))
        try childDB.client("UPDATE person_name SET given_name = 'Clinic' WHERE uuid = '\(name)';")
        try await TestTree.settle(child, parent)
        for node in [parent, child] {
            #expect(try await node.database.scalar("SELECT given_name FROM person_name WHERE uuid = \(name)").string == "Clinic", "at \(node.id)")
        }
        let differences = try await TableSnapshot.differences(parent, child, tables: ["person", "person_name", "obs"])
        #expect(differences.isEmpty, "\(differences)")

        // A second purge with the default retention (7 days) removes nothing new.
        let again = try await child.purge()
        #expect(again.total == 0, "\(again)")
    }

    @Test func purgeCommandAndRetentionKey() async throws {
        let test = try await TestDatabase.sqlite.fresh(.coreData)
        defer { Task { await test.close() } }
        let config = FileManager.default.temporaryDirectory.appendingPathComponent("tributary-purge-\(UUID().uuidString).yaml")
        try "node:\n  id: clinic-01\n  group: clinic\ndatabase: \(test.url)\nsync:\n  retention: 3d\n".write(to: config, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: config) }
        #expect(try NodeConfiguration.load(path: config.path).retention == 3 * 86_400)

        let purge = try CommandLineTests.run(["purge", "--config", config.path, "--older-than", "0s", "--json"])
        #expect(purge.status == 0, "\(purge.errors)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(purge.output.utf8)) as? [String: Any])
        for key in ["changes", "outgoing_batches", "incoming_batches", "errors", "conflicts"] { #expect(object[key] is Int, "\(key) in \(purge.output)") }
        let text = try CommandLineTests.run(["purge", "--config", config.path])
        #expect(text.status == 0 && text.output.hasPrefix("purged "), "\(text.output)\(text.errors)")
        let bad = try CommandLineTests.run(["purge", "--config", config.path, "--older-than", "soon"])
        #expect(bad.status != 0 && bad.errors.contains("not a duration"), "\(bad.errors)")
        try "node:\n  id: clinic-01\n  group: clinic\ndatabase: \(test.url)\nsync:\n  retention: forever\n".write(to: config, atomically: true, encoding: .utf8)
        #expect(throws: ConfigurationError.self) { try NodeConfiguration.load(path: config.path) }
    }
}
