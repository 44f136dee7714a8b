import Foundation
import Testing
import TributaryCore
import TributaryEngine
import TributarySQL

/// An update and a delete of the same row crossing, on a table without a uuid (`patient`,
/// keyed by its person): the delete stays everywhere, as it does for uuid tables. Before, the
/// deleting node did not find its own delete (it looked it up by uuid), took the update as a
/// row that never arrived and inserted it again, while the updating node deleted it.
@Suite struct UpdateDeleteWithoutUUIDTests {
    @Test(arguments: [(TestDatabase.postgres, TestDatabase.sqlite), (.mariadb, .postgres), (.sqlite, .mariadb)]
        .filter { TestDatabase.all.contains($0.0) && TestDatabase.all.contains($0.1) })
    func aDeleteCrossingAnUpdateOfAPatientStaysEverywhere(parentKind: TestDatabase, childKind: TestDatabase) async throws {
        let (parent, parentDB) = try await TestTree.node("central", group: "central", on: parentKind, contents: .coreData)
        let (child, childDB) = try await TestTree.node("clinic-1", group: "clinic", on: childKind, contents: .coreData)
        defer { Task { await parent.close(); await child.close() } }
        try await TestTree.link(child: child, to: parent)
        let person = SyncFlowTests.uuid()
        let f = childKind == .postgres ? "false" : "0"
        try childDB.client("""
            INSERT INTO person (gender, creator, date_created, voided, uuid) VALUES ('M', 1, '2026-12-03 10:00:00', \(f), '\(person)');
            INSERT INTO patient (patient_id, creator, date_created, voided) VALUES ((SELECT person_id FROM person WHERE uuid = '\(person)'), 1, '2026-12-03 10:00:00', \(f));
            """)
        try await TestTree.settle(child, parent)
        let patient: SQL = "SELECT COUNT(*) FROM patient WHERE patient_id = (SELECT person_id FROM person WHERE uuid = \(person))"
        #expect(try await parent.database.scalar(patient).int64 == 1)

        // The central unregisters the patient (the person stays) while the clinic edits it.
        try parentDB.client("DELETE FROM patient WHERE patient_id = (SELECT person_id FROM person WHERE uuid = '\(person)');")
        try childDB.client("UPDATE patient SET allergy_status = 'No known allergies' WHERE patient_id = (SELECT person_id FROM person WHERE uuid = '\(person)');")
        try await TestTree.settle(child, parent)

        #expect(try await parent.database.scalar(patient).int64 == 0, "the central keeps its delete")
        #expect(try await child.database.scalar(patient).int64 == 0, "the clinic takes the delete")
        #expect(try await parent.database.scalar("SELECT COUNT(*) FROM tributary_conflict WHERE table_name = 'patient' AND kind = 'update/delete'").int64 == 1)
        let differences = try await TableSnapshot.differences(parent, child, tables: ["person", "patient"])
        #expect(differences.isEmpty, "\(differences)")
        #expect(try await TestTree.deliver(from: child, to: parent).isEmpty)
        #expect(try await TestTree.deliver(from: parent, to: child).isEmpty)
    }
}
