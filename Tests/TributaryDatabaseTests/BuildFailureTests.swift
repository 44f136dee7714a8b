import Foundation
import Logging
import Testing
import TributaryCore
import TributaryEngine
import TributaryHTTP
import TributarySQL

/// One batch that cannot be built (a reference to a row that is nowhere) stopped the whole
/// round before any pull; now it holds back its own channel only.
@Suite struct BuildFailureTests {
    @Test(arguments: TestDatabase.all)
    func aBatchThatCannotBeBuiltStopsOnlyItsChannel(on kind: TestDatabase) async throws {
        let (parent, parentDB) = try await TestTree.node("central", group: "central", on: .sqlite, contents: .coreData)
        let (child, childDB) = try await TestTree.node("clinic-1", group: "clinic", on: kind, contents: .coreData,
                                                       extra: "parent:\n  url: http://127.0.0.1:1\n  registration_token: test-token\n")
        defer { Task { await parent.close(); await child.close() } }
        let logger = { var l = Logger(label: "test.client"); l.logLevel = .critical; return l }()
        try await withServer(parent) { url in
            let client = SyncClient(node: child, parentURL: url, logger: logger)
            defer { Task { await client.shutdown() } }
            var rounds = 0
            while try await child.initialLoadState() != .done, rounds < 6 { _ = try await client.round(); rounds += 1 }
            #expect(try await child.initialLoadState() == .done)

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
            // The next round says the same and still pulls.
            try parentDB.client("UPDATE concept SET version = 'central-3' WHERE uuid = '\(concept)';")
            let again = try await client.round()
            #expect(again.pushFailed == 1 && again.pulled >= 1, "\(again)")
            #expect(try await child.database.scalar("SELECT version FROM concept WHERE uuid = \(concept)").string == "central-3")
        }
    }

    /// At the parent the same failing batch was served first every round (HTTP 500 forever).
    @Test(arguments: TestDatabase.all)
    func aParentsBatchThatCannotBeBuiltHoldsBackOnlyItsChannel(on kind: TestDatabase) async throws {
        let (parent, parentDB) = try await TestTree.node("central", group: "central", on: kind, contents: .coreData)
        let (child, _) = try await TestTree.node("clinic-1", group: "clinic", on: .sqlite, contents: .coreData,
                                                 extra: "parent:\n  url: http://127.0.0.1:1\n  registration_token: test-token\n")
        defer { Task { await parent.close(); await child.close() } }
        let logger = { var l = Logger(label: "test.client"); l.logLevel = .critical; return l }()
        try await withServer(parent) { url in
            let client = SyncClient(node: child, parentURL: url, logger: logger)
            defer { Task { await client.shutdown() } }
            var rounds = 0
            while try await child.initialLoadState() != .done, rounds < 6 { _ = try await client.round(); rounds += 1 }
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
