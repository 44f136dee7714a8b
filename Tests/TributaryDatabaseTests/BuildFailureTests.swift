import Foundation
import Logging
import Testing
import TributaryCore
@testable import TributaryEngine
import TributaryHTTP
import TributarySQL

/// One batch that cannot be built (a reference to a row that is nowhere) stopped the whole
/// round before any pull; now it holds back its own channel only.
@Suite struct BuildFailureTests {
    @Test(arguments: TestDatabase.all)
    func aBatchThatCannotBeBuiltStopsOnlyItsChannel(on kind: TestDatabase) async throws {
        let (parent, parentDB) = try await TestTree.node("central", group: "central", on: .sqlite, contents: .coreData)
        let (child, childDB) = try await TestTree.node("clinic-1", group: "clinic", on: kind, contents: .coreData,
                                                       extra: httpChildExtra)
        defer { Task { await parent.close(); await child.close() } }
        try await withLoadedHTTPChild(child, of: parent) { client in

            // Clinical: a name whose changed_by (a reference the schema does not declare) names no user.
            let person = SyncFlowTests.uuid(), name = SyncFlowTests.uuid()
            let f = kind == .postgres ? "false" : "0"
            try childDB.client("""
                INSERT INTO person (gender, creator, date_created, voided, uuid) VALUES ('F', 1, '2026-12-03 10:00:00', \(f), '\(person)');
                INSERT INTO person_name (preferred, person_id, given_name, family_name, creator, date_created, voided, changed_by, uuid)
                  VALUES (\(kind == .postgres ? "true" : "1"), (SELECT person_id FROM person WHERE uuid = '\(person)'), 'Dangling', 'Reference',
                          1, '2026-12-03 10:00:00', \(f), 987654, '\(name)');
                """)
            // Metadata at both ends.
            let location = try #require(try await child.database.scalar("SELECT uuid FROM location ORDER BY location_id LIMIT 1").string)
            try childDB.client("UPDATE location SET description = 'Edited at the clinic' WHERE uuid = '\(location)';")
            let concept = try #require(try await parent.database.scalar("SELECT uuid FROM concept ORDER BY concept_id LIMIT 1").string)
            try parentDB.client("UPDATE concept SET version = 'central-2' WHERE uuid = '\(concept)';")

            // A first wait of 5 s: a round on a loaded machine must not outlast it.
            child.retries.withLock { $0.base = 5 }
            let report = try await client.round()
            #expect(report.pushFailed == 1, "\(report)")
            #expect(report.failures.first?.contains("person_name.changed_by") == true, "\(report.failures)")
            #expect(try await parent.database.scalar("SELECT description FROM location WHERE uuid = \(location)").string == "Edited at the clinic")
            #expect(try await child.database.scalar("SELECT version FROM concept WHERE uuid = \(concept)").string == "central-2")
            // The person travels on metadata; its name, on clinical, is held back with its channel.
            #expect(try await parent.database.scalar("SELECT COUNT(*) FROM person WHERE uuid = \(person)").int64 == 1)
            #expect(try await parent.database.scalar("SELECT COUNT(*) FROM person_name WHERE uuid = \(name)").int64 == 0)
            let recorded = try await child.database.scalar("SELECT error FROM tributary_outgoing_batch WHERE error IS NOT NULL").string
            #expect(recorded?.contains("could not be built") == true)
            // The next round leaves it alone while it backs off (5 s after one failure) and still pulls.
            try parentDB.client("UPDATE concept SET version = 'central-3' WHERE uuid = '\(concept)';")
            let again = try await client.round()
            #expect(again.pushFailed == 0 && again.pulled >= 1, "\(again)")
            #expect(try await child.database.scalar("SELECT version FROM concept WHERE uuid = \(concept)").string == "central-3")
            #expect(try await child.database.scalar("SELECT send_count FROM tributary_outgoing_batch WHERE error IS NOT NULL").int64 == 1)
            // Once due, it is tried again, and the attempt counted.
            try await Task.sleep(for: .milliseconds(5_200))
            let third = try await client.round()
            #expect(third.pushFailed == 1, "\(third)")
            #expect(try await child.database.scalar("SELECT send_count FROM tributary_outgoing_batch WHERE error IS NOT NULL").int64 == 2)
        }
    }

    /// At the parent the same failing batch was served first every round (HTTP 500 forever).
    @Test(arguments: TestDatabase.all)
    func aParentsBatchThatCannotBeBuiltHoldsBackOnlyItsChannel(on kind: TestDatabase) async throws {
        let (parent, parentDB) = try await TestTree.node("central", group: "central", on: kind, contents: .coreData)
        let (child, _) = try await TestTree.node("clinic-1", group: "clinic", on: .sqlite, contents: .coreData,
                                                 extra: httpChildExtra)
        defer { Task { await parent.close(); await child.close() } }
        try await withLoadedHTTPChild(child, of: parent) { client in
            let name = SyncFlowTests.uuid()
            let (t, f) = kind == .postgres ? ("true", "false") : ("1", "0")
            try parentDB.client("""
                INSERT INTO person_name (preferred, person_id, given_name, family_name, creator, date_created, voided, changed_by, uuid)
                  VALUES (\(t), (SELECT MIN(person_id) FROM person), 'Dangling', 'AtCentral', 1, '2026-12-03 10:00:00', \(f), 987654, '\(name)');
                """)
            let concept = try #require(try await parent.database.scalar("SELECT uuid FROM concept ORDER BY concept_id LIMIT 1").string)
            try parentDB.client("UPDATE concept SET version = 'central-2' WHERE uuid = '\(concept)';")
            let report = try await client.round()
            #expect(report.pullFailed == 0, "\(report)")
            #expect(try await child.database.scalar("SELECT version FROM concept WHERE uuid = \(concept)").string == "central-2")
            #expect(try await child.database.scalar("SELECT COUNT(*) FROM person_name WHERE uuid = \(name)").int64 == 0)
            let recorded = try await parent.database.scalar("SELECT error FROM tributary_outgoing_batch WHERE error IS NOT NULL").string
            #expect(recorded?.contains("person_name.changed_by") == true, "\(recorded ?? "")")
        }
    }
}

/// `status --json` lists each failing batch once, with how often and since when.
@Suite struct FailingBatchStatusTests {
    @Test(arguments: TestDatabase.all)
    func aBatchFailingAgainAndAgainIsOneEntryWithItsAttempts(on kind: TestDatabase) async throws {
        let (parent, _) = try await TestTree.node("central", group: "central", on: kind, contents: .coreData)
        let (child, _) = try await TestTree.node("clinic-1", group: "clinic", on: .sqlite, contents: .coreData)
        defer { Task { await parent.close(); await child.close() } }
        try await TestTree.link(child: child, to: parent)
        try await TestTree.settle(child, parent)
        // A change from the child to a table that flows down only: refused at the parent, three times.
        _ = try await parent.changeSetting("location", ["direction": "down"])
        let forged = Batch(
            header: BatchHeader(batchID: 424_242, source: child.id, target: parent.id, channel: "metadata", count: 1),
            changes: [WireChange(table: "location", operation: .update, key: [.string("no-such-location")], row: ["name": .string("x")],
                                 old: nil, originNode: child.id, originTime: "2026-12-03 10:00:00")])
        for _ in 0..<3 { #expect(await parent.apply(forged).status == .failed) }
        let status = try await NodeStatus.read(parent)
        let failing = status.failingBatches.filter { $0.batch == 424_242 }
        #expect(failing.count == 1)
        #expect(failing.first?.attempts == 3 && failing.first?.channel == "metadata" && failing.first?.side == "incoming")
        #expect(failing.first?.table == "location" && failing.first?.peer == "clinic-1")
        #expect(failing.first?.error.contains("flows down only") == true)
        // One row for the one failure, however often it was tried (a row per attempt filled the table).
        #expect(try await parent.database.scalar("SELECT COUNT(*) FROM tributary_incoming_error WHERE batch_id = 424242").int64 == 1)
        #expect(try await parent.database.scalar("SELECT attempts FROM tributary_incoming_error WHERE batch_id = 424242").int64 == 3)
        let json = String(decoding: try JSONEncoder().encode(status), as: UTF8.self)
        #expect(json.contains("\"failing_batches\"") && json.contains("\"first_seen\"") && json.contains("\"oldest_open_gap_seconds\":"))
        // The key is there even when no gap is open: null, not left out.
        #expect(String(decoding: try JSONEncoder().encode(["oldest_open_gap_seconds": NullableInt(nil)]), as: UTF8.self)
                == "{\"oldest_open_gap_seconds\":null}")
    }
}
