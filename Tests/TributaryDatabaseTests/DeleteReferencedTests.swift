import Foundation
import Testing
import TributaryCore
import TributaryEngine
import TributarySQL

/// A row deleted at one node while another node records a row that refers to it: the delete
/// and the reference cross. Before, the delete failed on the foreign key at the node where the
/// reference was (that node's channel stuck for good) and the reference failed as missing at
/// the node that deleted. Now both apply the rule of `DeletedReferences`: the delete stands, a
/// nullable reference to it is cleared, a patient row needing it goes with it; all converge.
@Suite struct DeleteReferencedTests {
    static let tables = ["person", "person_name", "patient", "patient_identifier", "visit", "encounter", "obs", "orders"]

    /// The four kinds of reference, each on a patient of its own (see `SyncFlowTests.patientScript`).
    struct Case {
        let person = SyncFlowTests.uuid()
        func key(_ suffix: String) -> String { person.prefix(30) + suffix }
        func id(_ table: String, _ suffix: String) -> String { "(SELECT \(table)_id FROM \(table) WHERE uuid = '\(key(suffix))')" }
        var pid: String { "(SELECT person_id FROM person WHERE uuid = '\(person)')" }
    }

    static func newObs(_ c: Case, _ suffix: String, kind: TestDatabase, encounter: String?, group: String? = nil, previous: String? = nil) -> String {
        let f = kind == .postgres ? "false" : "0"
        return """
            INSERT INTO obs (person_id, concept_id, encounter_id, obs_group_id, previous_version, obs_datetime, value_numeric, creator, date_created, voided, uuid, status)
              VALUES (\(c.pid), (SELECT MAX(concept_id) FROM concept), \(encounter ?? "NULL"), \(group ?? "NULL"), \(previous ?? "NULL"),
                      '2026-11-23 09:00:00', 38.5, 1, '2026-11-23 09:00:00', \(f), '\(c.key(suffix))', 'FINAL');
            """
    }

    static func value(_ node: SyncNode, _ sql: SQL) async throws -> SQLValue? {
        try await node.database.query(sql).first?.values.first
    }

    static func count(_ node: SyncNode, _ table: String, _ uuid: String) async throws -> Int64 {
        try await node.database.scalar("SELECT COUNT(*) FROM \(ident: table) WHERE uuid = \(uuid)").int64 ?? -1
    }

    @Test(arguments: [(TestDatabase.postgres, TestDatabase.sqlite), (.mariadb, .postgres), (.sqlite, .mariadb)]
        .filter { TestDatabase.all.contains($0.0) && TestDatabase.all.contains($0.1) })
    func aDeleteCrossingAReferenceToItsRowConvergesEverywhere(parentKind: TestDatabase, childKind: TestDatabase) async throws {
        let (parent, parentDB) = try await TestTree.node("central", group: "central", on: parentKind)
        let (child, childDB) = try await TestTree.node("clinic-1", group: "clinic", on: childKind)
        defer { Task { await parent.close(); await child.close() } }
        try await TestTree.link(child: child, to: parent)
        let correction = Case(), group = Case(), encounter = Case(), patient = Case()
        for c in [correction, group, encounter, patient] {
            try childDB.client(SyncFlowTests.patientScript(childKind, person: c.person, family: "Cross"))
        }
        try await TestTree.settle(child, parent)
        #expect(try await Self.count(parent, "obs", patient.key("obs003")) == 1)

        // The central deletes; meanwhile the clinic records rows that refer to what it deletes.
        let t = childKind == .postgres ? "true" : "1"
        func deleteEncounter(_ c: Case) -> String {
            """
            DELETE FROM drug_order WHERE order_id = (SELECT order_id FROM orders WHERE uuid = '\(c.key("ord001"))');
            DELETE FROM orders WHERE uuid = '\(c.key("ord001"))';
            DELETE FROM obs WHERE uuid IN ('\(c.key("obs002"))', '\(c.key("obs003"))');
            DELETE FROM obs WHERE uuid = '\(c.key("obs001"))';
            DELETE FROM encounter WHERE uuid = '\(c.key("enc001"))';
            """
        }
        try parentDB.client("""
            DELETE FROM obs WHERE uuid = '\(correction.key("obs002"))';
            DELETE FROM obs WHERE uuid IN ('\(group.key("obs002"))', '\(group.key("obs003"))');
            DELETE FROM obs WHERE uuid = '\(group.key("obs001"))';
            \(deleteEncounter(encounter))
            \(deleteEncounter(patient))
            DELETE FROM visit WHERE uuid = '\(patient.key("visit1"))';
            DELETE FROM patient_identifier WHERE uuid = '\(patient.key("ident1"))';
            DELETE FROM patient WHERE patient_id = \(patient.pid);
            DELETE FROM person_name WHERE uuid = '\(patient.key("name01"))';
            DELETE FROM person WHERE uuid = '\(patient.person)';
            """)
        try childDB.client("""
            UPDATE obs SET voided = \(t) WHERE uuid = '\(correction.key("obs002"))';
            \(Self.newObs(correction, "obs004", kind: childKind, encounter: correction.id("encounter", "enc001"), previous: correction.id("obs", "obs002")))
            \(Self.newObs(group, "obs005", kind: childKind, encounter: group.id("encounter", "enc001"), group: group.id("obs", "obs001")))
            \(Self.newObs(encounter, "obs006", kind: childKind, encounter: encounter.id("encounter", "enc001")))
            INSERT INTO patient_identifier (patient_id, identifier, identifier_type, preferred, location_id, creator, date_created, voided, uuid)
              VALUES (\(patient.pid), 'Cross-ID-2', (SELECT MAX(patient_identifier_type_id) FROM patient_identifier_type), \(t),
                      (SELECT MIN(location_id) FROM location), 1, '2026-11-23 09:00:00', \(childKind == .postgres ? "false" : "0"), '\(patient.key("ident2"))');
            """)
        let up = try await TestTree.deliver(from: child, to: parent)
        let down = try await TestTree.deliver(from: parent, to: child)
        for ack in up + down { #expect(ack.status == .applied, "\(ack.failure?.cause ?? "")") }
        try await TestTree.settle(child, parent)

        for node in [parent, child] {
            // previous_version: the correction stays, pointing at nothing.
            #expect(try await Self.count(node, "obs", correction.key("obs002")) == 0, "at \(node.id)")
            #expect(try await Self.count(node, "obs", correction.key("obs004")) == 1, "at \(node.id)")
            #expect(try await Self.value(node, "SELECT previous_version FROM obs WHERE uuid = \(correction.key("obs004"))")?.isNull == true, "at \(node.id)")
            // obs_group_id: the member stays, out of its deleted group.
            #expect(try await Self.count(node, "obs", group.key("obs001")) == 0, "at \(node.id)")
            #expect(try await Self.value(node, "SELECT obs_group_id FROM obs WHERE uuid = \(group.key("obs005"))")?.isNull == true, "at \(node.id)")
            // An encounter's obs: kept without its encounter.
            #expect(try await Self.count(node, "encounter", encounter.key("enc001")) == 0, "at \(node.id)")
            #expect(try await Self.value(node, "SELECT encounter_id FROM obs WHERE uuid = \(encounter.key("obs006"))")?.isNull == true, "at \(node.id)")
            // A patient's identifier (NOT NULL): goes with the purged patient.
            #expect(try await Self.count(node, "person", patient.person) == 0, "at \(node.id)")
            #expect(try await Self.count(node, "patient_identifier", patient.key("ident2")) == 0, "at \(node.id)")
            let stuck = try await NodeStatus.read(node).failingBatches
            #expect(stuck.isEmpty, "at \(node.id): \(stuck)")
        }
        let differences = try await TableSnapshot.differences(parent, child, tables: Self.tables)
        #expect(differences.isEmpty, "\(differences)")
        // Recorded where each side met the other.
        let released = try await child.database.scalar("SELECT COUNT(*) FROM tributary_conflict WHERE kind = 'delete/referenced'").int64 ?? 0
        let cleared = try await parent.database.scalar("SELECT COUNT(*) FROM tributary_conflict WHERE kind = 'reference/deleted'").int64 ?? 0
        #expect(released >= 4 && cleared >= 4, "delete/referenced at the clinic: \(released), reference/deleted at the central: \(cleared)")
        let removed = try await child.database.scalar("SELECT local_values FROM tributary_conflict WHERE kind = 'delete/referenced' AND local_values LIKE \("%" + patient.key("ident2") + "%")").string
        #expect(removed?.contains("removed") == true, "the removed identifier is named in the record: \(removed ?? "none")")
        // Nothing bounces.
        #expect(try await TestTree.deliver(from: child, to: parent).isEmpty)
        #expect(try await TestTree.deliver(from: parent, to: child).isEmpty)
    }
}
