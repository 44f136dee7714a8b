import Foundation
import Testing
import TributaryCore
import TributaryEngine
import TributarySQL

/// The detection matrix: update/update (same and different columns), update/delete,
/// delete/update and insert/insert, under each policy, detected on every dialect (each pair
/// puts a dialect at each end). The policy is changed at the root between cases, as an
/// administrator would, and reaches the child with the settings.
@Suite struct ConflictMatrixTests {
    struct Pair {
        var parent: SyncNode, child: SyncNode
        let parentDB: TestNode, childDB: TestNode

        func sync() async throws { try await TestTree.quiesce([(child, parent)]) }

        func edit(_ db: TestNode, _ sql: String) async throws {
            try db.client(sql)
            try await Task.sleep(for: .milliseconds(15))  // distinct origin times
        }

        /// A person and one name, made at the parent and synced to the child.
        func newName() async throws -> (person: String, name: String) {
            let person = SyncFlowTests.uuid(), name = SyncFlowTests.uuid()
            try await edit(parentDB, """
                INSERT INTO person (gender, creator, date_created, voided, uuid) VALUES ('F', 1, '2026-11-22 10:00:00', '0', '\(person)');
                INSERT INTO person_name (person_id, given_name, family_name, preferred, creator, date_created, voided, uuid)
                  VALUES ((SELECT person_id FROM person WHERE uuid = '\(person)'), 'Amina', 'Base', '1', 1, '2026-11-22 10:00:00', '0', '\(name)');
                """)
            try await sync()
            return (person, name)
        }

        func insertName(_ db: TestNode, person: String, name: String, family: String) async throws {
            try await edit(db, """
                INSERT INTO person_name (person_id, given_name, family_name, preferred, creator, date_created, voided, uuid)
                  VALUES ((SELECT person_id FROM person WHERE uuid = '\(person)'), 'Twin', '\(family)', '0', 1, '2026-11-22 10:00:00', '0', '\(name)');
                """)
        }

        /// given and family name, or nil when the row is not there.
        static func name(_ node: SyncNode, _ uuid: String) async throws -> [String]? {
            guard let row = try await node.database.query("SELECT given_name, family_name FROM person_name WHERE uuid = \(uuid)").first else { return nil }
            return [row.string("given_name") ?? "?", row.string("family_name") ?? "?"]
        }

        func both(_ uuid: String) async throws -> [[String]?] { [try await Self.name(parent, uuid), try await Self.name(child, uuid)] }

        func conflicts(_ node: SyncNode, kind: String) async throws -> Int64 {
            try await node.database.scalar("SELECT COUNT(*) FROM tributary_conflict WHERE kind = \(kind)").int64 ?? -1
        }

        /// Whether the parent recorded `atParent` and the child `atChild` at least once.
        func recorded(parent atParent: String, child atChild: String) async throws -> Bool {
            let p = try await conflicts(parent, kind: atParent), c = try await conflicts(child, kind: atChild)
            return p >= 1 && c >= 1
        }

        func nonePending() async throws -> Bool {
            let p = try await pending(parent), c = try await pending(child)
            return p.isEmpty && c.isEmpty
        }

        func pending(_ node: SyncNode) async throws -> [Int64] {
            try await node.database.query("SELECT conflict_id FROM tributary_conflict WHERE decision = 'pending' ORDER BY conflict_id").compactMap { $0.int("conflict_id") }
        }

        func assertEqual(_ comment: Comment) async throws {
            let differences = try await TableSnapshot.differences(parent, child, tables: ["person", "person_name"])
            #expect(differences.isEmpty, "\(comment): \(differences)")
            // Nothing bounces between them once settled.
            #expect(try await TestTree.deliver(from: child, to: parent).isEmpty, comment)
            #expect(try await TestTree.deliver(from: parent, to: child).isEmpty, comment)
            let echoes = try await TestTree.echoes(at: parent) + (try await TestTree.echoes(at: child))
            #expect(echoes == 0, comment)
        }
    }

    static let pairs: [(child: TestDatabase, parent: TestDatabase)] = [(.sqlite, .postgres), (.postgres, .mariadb), (.mariadb, .sqlite)]

    @Test(arguments: pairs.filter { TestDatabase.all.contains($0.child) && TestDatabase.all.contains($0.parent) }.map { "\($0.child)-under-\($0.parent)" })
    func everyKindOfConflictUnderEveryPolicy(pairName: String) async throws {
        let kinds = pairName.components(separatedBy: "-under-").map { TestDatabase(rawValue: $0)! }
        let (parent, parentDB) = try await TestTree.node("central", group: "central", on: kinds[1], contents: .coreData)
        let (child, childDB) = try await TestTree.node("clinic-1", group: "clinic", on: kinds[0], contents: .coreData)
        var pair = Pair(parent: parent, child: child, parentDB: parentDB, childDB: childDB)
        defer { let p = pair; Task { await p.parent.close(); await p.child.close() } }
        try await TestTree.link(child: child, to: parent)
        try await pair.sync()
        #expect(child.depth == 1 && parent.depth == 0, "the child learns its depth from the parent's settings")

        for policy in [ConflictPolicy.newerWins, .parentWins, .childWins] {
            _ = try await pair.parent.changeSetting("person_name", ["policy": policy.rawValue])
            try await pair.sync()
            #expect(pair.child.catalog["person_name"]?.setting.policy == policy, "the policy reached the child")
            let p = policy.rawValue

            // Same column, the parent's edit first: the child's is newer.
            var (person, name) = try await pair.newName()
            try await pair.edit(parentDB, "UPDATE person_name SET family_name = 'Parent' WHERE uuid = '\(name)';")
            try await pair.edit(childDB, "UPDATE person_name SET family_name = 'Child' WHERE uuid = '\(name)';")
            try await pair.sync()
            let winnerA = policy == .parentWins ? "Parent" : "Child"
            #expect(try await pair.both(name) == [["Amina", winnerA], ["Amina", winnerA]], "\(p), parent first")
            #expect(try await pair.recorded(parent: "update/update", child: "update/update"), "\(p)")
            // Same column, the child's edit first: the parent's is newer.
            try await pair.edit(childDB, "UPDATE person_name SET family_name = 'Child 2' WHERE uuid = '\(name)';")
            try await pair.edit(parentDB, "UPDATE person_name SET family_name = 'Parent 2' WHERE uuid = '\(name)';")
            try await pair.sync()
            let winnerB = policy == .childWins ? "Child 2" : "Parent 2"
            #expect(try await pair.both(name) == [["Amina", winnerB], ["Amina", winnerB]], "\(p), child first")

            // Different columns: both stay, nothing recorded.
            let before = try await pair.conflicts(pair.parent, kind: "update/update") + (try await pair.conflicts(pair.child, kind: "update/update"))
            try await pair.edit(parentDB, "UPDATE person_name SET given_name = 'Aminata' WHERE uuid = '\(name)';")
            try await pair.edit(childDB, "UPDATE person_name SET family_name = 'Okello' WHERE uuid = '\(name)';")
            try await pair.sync()
            #expect(try await pair.both(name) == [["Aminata", "Okello"], ["Aminata", "Okello"]], "\(p), merged")
            let after = try await pair.conflicts(pair.parent, kind: "update/update") + (try await pair.conflicts(pair.child, kind: "update/update"))
            #expect(after == before, "\(p): changes to different columns are not a conflict")

            // The parent deletes, then the child updates the same row.
            (person, name) = try await pair.newName()
            try await pair.edit(parentDB, "DELETE FROM person_name WHERE uuid = '\(name)';")
            try await pair.edit(childDB, "UPDATE person_name SET family_name = 'Kept' WHERE uuid = '\(name)';")
            try await pair.sync()
            // A delete stays against a concurrent update (whatever the times and depths).
            #expect(try await pair.both(name) == [nil, nil], "\(p), delete then update")
            #expect(try await pair.recorded(parent: "update/delete", child: "delete/update"), "\(p)")

            // The parent updates, then the child deletes.
            (person, name) = try await pair.newName()
            try await pair.edit(parentDB, "UPDATE person_name SET family_name = 'Changed' WHERE uuid = '\(name)';")
            try await pair.edit(childDB, "DELETE FROM person_name WHERE uuid = '\(name)';")
            try await pair.sync()
            #expect(try await pair.both(name) == [nil, nil], "\(p), update then delete")
            #expect(try await pair.recorded(parent: "delete/update", child: "update/delete"), "\(p)")

            // The same new uuid inserted at both, the child's later.
            let twin = SyncFlowTests.uuid()
            try await pair.insertName(parentDB, person: person, name: twin, family: "Parent twin")
            try await pair.insertName(childDB, person: person, name: twin, family: "Child twin")
            try await pair.sync()
            let twinWinner = policy == .parentWins ? "Parent twin" : "Child twin"
            #expect(try await pair.both(twin) == [["Twin", twinWinner], ["Twin", twinWinner]], "\(p), insert/insert")
            #expect(try await pair.recorded(parent: "insert/insert", child: "insert/insert"), "\(p)")
            try await pair.assertEqual("\(p)")
        }

        // manual: each side keeps its version and parks the other's; a person decides later.
        _ = try await pair.parent.changeSetting("person_name", ["policy": "manual"])
        try await pair.sync()
        var (person, name) = try await pair.newName()
        try await pair.edit(parentDB, "UPDATE person_name SET family_name = 'Parent' WHERE uuid = '\(name)';")
        try await pair.edit(childDB, "UPDATE person_name SET family_name = 'Child' WHERE uuid = '\(name)';")
        try await pair.sync()
        #expect(try await pair.both(name) == [["Amina", "Parent"], ["Amina", "Child"]], "manual: nobody's version replaced")
        var parked = try await pair.pending(pair.parent)
        #expect(parked.count == 1)
        #expect(try await pair.pending(pair.child).count == 1)
        #expect(try await NodeStatus.read(pair.parent).conflictsPending == 1)
        // The parked version survives a restart.
        await pair.parent.close()
        pair.parent = try await SyncNode.open(parent.configuration, logger: parent.logger)
        #expect(try await pair.pending(pair.parent) == parked)
        try await pair.parent.resolveConflict(parked[0], take: .incoming)
        await #expect(throws: (any Error).self) { try await pair.parent.resolveConflict(parked[0], take: .local) }
        try await pair.sync()
        #expect(try await pair.both(name) == [["Amina", "Child"], ["Amina", "Child"]], "manual: the decision reached both")
        #expect(try await pair.nonePending(), "the child's parked conflict closed by the decision")

        // A merged decision taken at the child.
        try await pair.edit(parentDB, "UPDATE person_name SET family_name = 'Parent 3' WHERE uuid = '\(name)';")
        try await pair.edit(childDB, "UPDATE person_name SET family_name = 'Child 3' WHERE uuid = '\(name)';")
        try await pair.sync()
        parked = try await pair.pending(pair.child)
        #expect(parked.count == 1)
        try await pair.child.resolveConflict(parked[0], take: .merged(["family_name": .string("Merged"), "given_name": .string("Amina M.")]))
        try await pair.sync()
        #expect(try await pair.both(name) == [["Amina M.", "Merged"], ["Amina M.", "Merged"]], "manual: merged values everywhere")

        // Decided at both nodes, differently, before they sync: the later decision everywhere.
        try await pair.edit(parentDB, "UPDATE person_name SET family_name = 'Parent 4' WHERE uuid = '\(name)';")
        try await pair.edit(childDB, "UPDATE person_name SET family_name = 'Child 4' WHERE uuid = '\(name)';")
        try await pair.sync()
        let atParent = try await pair.pending(pair.parent), atChild = try await pair.pending(pair.child)
        #expect(atParent.count == 1 && atChild.count == 1)
        try await pair.parent.resolveConflict(atParent[0], take: .local)
        try await Task.sleep(for: .milliseconds(15))
        try await pair.child.resolveConflict(atChild[0], take: .local)
        try await pair.sync()
        #expect(try await pair.both(name) == [["Amina M.", "Child 4"], ["Amina M.", "Child 4"]], "the child decided last")

        // Update here, delete there: the parent keeps its row, decided as the parent's.
        (person, name) = try await pair.newName()
        try await pair.edit(parentDB, "UPDATE person_name SET family_name = 'Changed' WHERE uuid = '\(name)';")
        try await pair.edit(childDB, "DELETE FROM person_name WHERE uuid = '\(name)';")
        try await pair.sync()
        #expect(try await pair.both(name) == [["Amina", "Changed"], nil])
        parked = try await pair.pending(pair.parent)
        #expect(parked.count == 1)
        try await pair.parent.resolveConflict(parked[0], take: .local)
        try await pair.sync()
        #expect(try await pair.both(name) == [["Amina", "Changed"], ["Amina", "Changed"]], "manual: the kept row restored at the child")

        // Insert at both: the child takes the parent's.
        let twin = SyncFlowTests.uuid()
        try await pair.insertName(parentDB, person: person, name: twin, family: "Parent twin")
        try await pair.insertName(childDB, person: person, name: twin, family: "Child twin")
        try await pair.sync()
        parked = try await pair.pending(pair.child)
        #expect(parked.count == 1)
        try await pair.child.resolveConflict(parked[0], take: .incoming)
        try await pair.sync()
        #expect(try await pair.both(twin) == [["Twin", "Parent twin"], ["Twin", "Parent twin"]])
        #expect(try await pair.nonePending())
        try await pair.assertEqual("manual")
    }
}
