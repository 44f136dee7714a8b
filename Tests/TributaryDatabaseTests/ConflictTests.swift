import Foundation
import Testing
import TributaryCore
import TributaryEngine
import TributarySQL

/// The same row edited at two nodes between syncs: detected, decided by newer-wins, recorded,
/// and both nodes end with the same row.
@Suite struct ConflictTests {
    static func name(_ node: SyncNode, _ uuid: String) async throws -> [String] {
        let row = try await node.database.query("SELECT given_name, family_name FROM person_name WHERE uuid = \(uuid)").first
        return [row?.string("given_name") ?? "?", row?.string("family_name") ?? "?"]
    }

    static func conflicts(_ node: SyncNode) async throws -> Int64 { try await NodeStatus.read(node).conflicts }

    @Test(arguments: [(TestDatabase.sqlite, TestDatabase.postgres), (.mariadb, .sqlite)]
        .filter { TestDatabase.all.contains($0.0) && TestDatabase.all.contains($0.1) })
    func editsOfTheSameRowAtTwoNodesConvergeOnTheNewer(childKind: TestDatabase, parentKind: TestDatabase) async throws {
        let (parent, parentDB) = try await TestTree.node("central", group: "central", on: parentKind, contents: .coreData)
        let (child, childDB) = try await TestTree.node("clinic-1", group: "clinic", on: childKind, contents: .coreData)
        defer { Task { await parent.close(); await child.close() } }
        try await TestTree.link(child: child, to: parent)
        let person = SyncFlowTests.uuid(), nameUUID = SyncFlowTests.uuid()
        let f = childKind == .postgres ? "false" : "0", t = childKind == .postgres ? "true" : "1"
        try childDB.client("""
            INSERT INTO person (gender, creator, date_created, voided, uuid) VALUES ('F', 1, '2026-11-22 10:00:00', \(f), '\(person)');
            INSERT INTO person_name (person_id, given_name, family_name, preferred, creator, date_created, voided, uuid)
              VALUES ((SELECT person_id FROM person WHERE uuid = '\(person)'), 'Amina', 'Base', \(t), 1, '2026-11-22 10:00:00', \(f), '\(nameUUID)');
            """)
        try await TestTree.settle(child, parent)
        #expect(try await Self.name(parent, nameUUID) == ["Amina", "Base"])

        // The same column at both, the clinic's edit later: the clinic's value everywhere.
        try parentDB.client("UPDATE person_name SET family_name = 'Central' WHERE uuid = '\(nameUUID)';")
        try await Task.sleep(for: .milliseconds(20))
        try childDB.client("UPDATE person_name SET family_name = 'Clinic' WHERE uuid = '\(nameUUID)';")
        try await TestTree.settle(child, parent)
        #expect(try await Self.name(parent, nameUUID) == ["Amina", "Clinic"])
        #expect(try await Self.name(child, nameUUID) == ["Amina", "Clinic"])
        let atParent = try await Self.conflicts(parent), atChild = try await Self.conflicts(child)
        #expect(atParent == 1 && atChild == 1, "detected on both sides")
        let decision = try await parent.database.query("SELECT decision, columns, policy, local_values, incoming_values FROM tributary_conflict").first
        #expect(decision?.string("decision") == "incoming" && decision?.string("columns") == "family_name" && decision?.string("policy") == "newer-wins")
        #expect(decision?.string("local_values")?.contains("Central") == true && decision?.string("incoming_values")?.contains("Clinic") == true)

        // The other way round, delivered in the other order: the central's value everywhere.
        try childDB.client("UPDATE person_name SET family_name = 'Clinic 2' WHERE uuid = '\(nameUUID)';")
        try await Task.sleep(for: .milliseconds(20))
        try parentDB.client("UPDATE person_name SET family_name = 'Central 2' WHERE uuid = '\(nameUUID)';")
        try await TestTree.deliver(from: parent, to: child)
        try await TestTree.settle(child, parent)
        #expect(try await Self.name(parent, nameUUID) == ["Amina", "Central 2"])
        #expect(try await Self.name(child, nameUUID) == ["Amina", "Central 2"])

        // Different columns: both edits stay, no conflict.
        let before = try await Self.conflicts(parent) + (try await Self.conflicts(child))
        try parentDB.client("UPDATE person_name SET given_name = 'Aminata' WHERE uuid = '\(nameUUID)';")
        try childDB.client("UPDATE person_name SET family_name = 'Okello' WHERE uuid = '\(nameUUID)';")
        try await TestTree.settle(child, parent)
        #expect(try await Self.name(parent, nameUUID) == ["Aminata", "Okello"])
        #expect(try await Self.name(child, nameUUID) == ["Aminata", "Okello"])
        let after = try await Self.conflicts(parent) + (try await Self.conflicts(child))
        #expect(after == before)
        // Column against column: the clinic edits given_name, the central edits it later, then the
        // clinic edits family_name (its row is newer, its given_name is not): the central's given_name wins.
        try childDB.client("UPDATE person_name SET given_name = 'Clinic given' WHERE uuid = '\(nameUUID)';")
        try await Task.sleep(for: .milliseconds(20))
        try parentDB.client("UPDATE person_name SET given_name = 'Central given' WHERE uuid = '\(nameUUID)';")
        try await Task.sleep(for: .milliseconds(20))
        try childDB.client("UPDATE person_name SET family_name = 'Clinic family' WHERE uuid = '\(nameUUID)';")
        try await TestTree.settle(child, parent)
        #expect(try await Self.name(parent, nameUUID) == ["Central given", "Clinic family"])
        #expect(try await Self.name(child, nameUUID) == ["Central given", "Clinic family"])
        let differences = try await TableSnapshot.differences(parent, child, tables: ["person", "person_name"])
        #expect(differences.isEmpty, "\(differences)")
        // Nothing bounces: a last round moves nothing.
        #expect(try await TestTree.deliver(from: child, to: parent).isEmpty)
        #expect(try await TestTree.deliver(from: parent, to: child).isEmpty)
    }
}
