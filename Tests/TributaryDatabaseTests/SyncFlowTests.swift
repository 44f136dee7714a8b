import Foundation
import Testing
import TributaryCore
import TributaryEngine
import TributarySQL

/// Changes made at one node arrive at the other with every key translated (in-process delivery).
@Suite struct SyncFlowTests {
    static func uuid() -> String { UUID().uuidString.lowercased() }

    /// A patient with a name, an identifier, a visit, an encounter, an obs group with two
    /// members and an order with its drug order, written by plain SQL.
    static func patientScript(_ db: TestDatabase, person: String, family: String) -> String {
        let f = db == .postgres ? "false" : "0", t = db == .postgres ? "true" : "1"
        let pid = "(SELECT person_id FROM person WHERE uuid = '\(person)')"
        let enc = "(SELECT encounter_id FROM encounter WHERE uuid = '\(person.prefix(30))enc001')"
        let group = "(SELECT obs_id FROM obs WHERE uuid = '\(person.prefix(30))obs001')"
        let order = "(SELECT order_id FROM orders WHERE uuid = '\(person.prefix(30))ord001')"
        return """
        INSERT INTO person (gender, birthdate, creator, date_created, voided, uuid) VALUES ('F', '1990-04-01', 1, '2026-11-22 10:00:00', \(f), '\(person)');
        INSERT INTO person_name (person_id, given_name, family_name, preferred, creator, date_created, voided, uuid)
          VALUES (\(pid), 'Amina', '\(family)', \(t), 1, '2026-11-22 10:00:00', \(f), '\(person.prefix(30))name01');
        INSERT INTO patient (patient_id, creator, date_created, voided) VALUES (\(pid), 1, '2026-11-22 10:00:00', \(f));
        INSERT INTO patient_identifier (patient_id, identifier, identifier_type, preferred, location_id, creator, date_created, voided, uuid)
          VALUES (\(pid), '\(family)-ID', (SELECT MIN(patient_identifier_type_id) FROM patient_identifier_type), \(t),
                  (SELECT MIN(location_id) FROM location), 1, '2026-11-22 10:00:00', \(f), '\(person.prefix(30))ident1');
        INSERT INTO visit (patient_id, visit_type_id, date_started, creator, date_created, voided, uuid)
          VALUES (\(pid), (SELECT MIN(visit_type_id) FROM visit_type), '2026-11-22 10:00:00', 1, '2026-11-22 10:00:00', \(f), '\(person.prefix(30))visit1');
        INSERT INTO encounter (encounter_type, patient_id, location_id, visit_id, encounter_datetime, creator, date_created, voided, uuid)
          VALUES ((SELECT MIN(encounter_type_id) FROM encounter_type), \(pid), (SELECT MIN(location_id) FROM location),
                  (SELECT visit_id FROM visit WHERE uuid = '\(person.prefix(30))visit1'), '2026-11-22 10:05:00', 1, '2026-11-22 10:05:00', \(f), '\(person.prefix(30))enc001');
        INSERT INTO obs (person_id, concept_id, encounter_id, obs_datetime, creator, date_created, voided, uuid, status)
          VALUES (\(pid), (SELECT MIN(concept_id) FROM concept), \(enc), '2026-11-22 10:05:00', 1, '2026-11-22 10:05:00', \(f), '\(person.prefix(30))obs001', 'FINAL');
        INSERT INTO obs (person_id, concept_id, encounter_id, obs_group_id, obs_datetime, value_numeric, creator, date_created, voided, uuid, status)
          VALUES (\(pid), (SELECT MAX(concept_id) FROM concept), \(enc), \(group), '2026-11-22 10:05:00', 37.5, 1, '2026-11-22 10:05:00', \(f), '\(person.prefix(30))obs002', 'FINAL');
        INSERT INTO obs (person_id, concept_id, encounter_id, obs_group_id, obs_datetime, value_text, creator, date_created, voided, uuid, status)
          VALUES (\(pid), (SELECT MAX(concept_id) FROM concept), \(enc), \(group), '2026-11-22 10:05:00', 'Ünïcødé 😀', 1, '2026-11-22 10:05:00', \(f), '\(person.prefix(30))obs003', 'FINAL');
        INSERT INTO orders (order_type_id, concept_id, orderer, encounter_id, patient_id, care_setting, order_number, order_action, urgency,
                            creator, date_created, voided, uuid, date_activated)
          VALUES ((SELECT MIN(order_type_id) FROM order_type), (SELECT MIN(concept_id) FROM drug), (SELECT MIN(provider_id) FROM provider), \(enc), \(pid),
                  (SELECT MIN(care_setting_id) FROM care_setting), '\(family)-ORD', 'NEW', 'ROUTINE', 1, '2026-11-22 10:06:00', \(f), '\(person.prefix(30))ord001', '2026-11-22 10:06:00');
        INSERT INTO drug_order (order_id, drug_inventory_id, dose, as_needed, dispense_as_written)
          VALUES (\(order), (SELECT MIN(drug_id) FROM drug), 2.5, \(f), \(f));
        """
    }

    static func rowCount(_ node: SyncNode, _ table: String, uuidPrefix: String) async throws -> Int64 {
        try await node.database.scalar("SELECT COUNT(*) FROM \(ident: table) WHERE uuid LIKE \(uuidPrefix + "%")").int64 ?? -1
    }

    @Test(arguments: [(TestDatabase.sqlite, TestDatabase.sqlite), (.postgres, .mariadb), (.mariadb, .sqlite), (.mariadb, .postgres)]
        .filter { TestDatabase.all.contains($0.0) && TestDatabase.all.contains($0.1) })
    func clinicalDataFlowsBothWaysWithKeysTranslated(parentKind: TestDatabase, childKind: TestDatabase) async throws {
        let (parent, parentDB) = try await TestTree.node("central", group: "central", on: parentKind)
        let (child, childDB) = try await TestTree.node("clinic-1", group: "clinic", on: childKind)
        defer { Task { await parent.close(); await child.close() } }
        try await TestTree.link(child: child, to: parent)
        // Local ids diverge on purpose: the parent inserts and deletes rows of its own first.
        let scratch = Self.uuid()
        try parentDB.client(Self.patientScript(parentKind, person: scratch, family: "Scratch"))
        let before = try await TestTree.deliver(from: parent, to: child)
        #expect(!before.isEmpty && before.allSatisfy { $0.status == .applied }, "\(before)")

        let person = Self.uuid()
        try childDB.client(Self.patientScript(childKind, person: person, family: "Okello"))
        let acks = try await TestTree.deliver(from: child, to: parent)
        #expect(!acks.isEmpty && acks.allSatisfy { $0.status == .applied }, "\(acks)")
        let prefix = String(person.prefix(30))
        #expect(try await Self.rowCount(parent, "obs", uuidPrefix: prefix) == 3)
        // The obs group member points at the group's local id at the parent.
        let memberGroup = try await parent.database.scalar("SELECT g.uuid FROM obs m JOIN obs g ON g.obs_id = m.obs_group_id WHERE m.uuid = \(prefix + "obs002")")
        #expect(memberGroup == .text(prefix + "obs001"))
        let drugOrder = try await parent.database.scalar("SELECT o.uuid FROM drug_order d JOIN orders o ON o.order_id = d.order_id WHERE o.uuid = \(prefix + "ord001")")
        #expect(drugOrder == .text(prefix + "ord001"))
        let patientOfEncounter = try await parent.database.scalar("""
            SELECT p.uuid FROM encounter e JOIN person p ON p.person_id = e.patient_id WHERE e.uuid = \(prefix + "enc001")
            """)
        #expect(patientOfEncounter == .text(person))
        // Echo: what the parent applied is not sent back to the child.
        #expect(try await TestTree.deliver(from: parent, to: child).isEmpty)

        // The other direction: an edit and a void at the parent, a delete.
        try parentDB.client("""
            UPDATE person_name SET family_name = 'Okello-Banda' WHERE uuid = '\(prefix)name01';
            UPDATE obs SET voided = \(parentKind == .postgres ? "true" : "1"), void_reason = 'wrong patient' WHERE uuid = '\(prefix)obs003';
            DELETE FROM obs WHERE uuid = '\(prefix)obs002';
            """)
        let down = try await TestTree.deliver(from: parent, to: child)
        #expect(!down.isEmpty && down.allSatisfy { $0.status == .applied }, "\(down)")
        #expect(try await child.database.scalar("SELECT family_name FROM person_name WHERE uuid = \(prefix + "name01")") == .text("Okello-Banda"))
        #expect(try await Self.rowCount(child, "obs", uuidPrefix: prefix) == 2)
        #expect(try await TestTree.deliver(from: child, to: parent).isEmpty, "no echo back up")

        let differences = try await TableSnapshot.differences(child, parent, tables: ["person", "person_name", "patient", "patient_identifier",
                                                                                     "visit", "encounter", "obs", "orders", "drug_order"])
        #expect(differences.isEmpty, "\(differences.prefix(10))")
    }
}
