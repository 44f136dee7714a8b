import Testing
import TributaryCore
import TributaryEngine
import TributarySQL

/// A person's decision travels through a node where the row is gone already.
@Suite struct DecisionTreeTests {
    static func pending(_ node: SyncNode) async throws -> Int64 {
        try await node.database.scalar("SELECT COUNT(*) FROM tributary_conflict WHERE decision = 'pending'").int64 ?? -1
    }

    static func nameCount(_ node: SyncNode, _ uuid: String) async throws -> Int64 {
        try await node.database.scalar("SELECT COUNT(*) FROM person_name WHERE uuid = \(uuid)").int64 ?? -1
    }

    /// The district deletes a name both clinics have just edited (policy manual): each clinic
    /// parks the delete and keeps its row. A person at one clinic decides for the delete; the
    /// decision reaches the other clinic through the district, where the row is gone already,
    /// and every node ends without the row and with nothing waiting.
    @Test func aDeleteDecidedAtOneClinicReachesTheOtherThroughADistrictWithoutTheRow() async throws {
        let (district, districtDB) = try await TestTree.node("district", group: "district", on: .sqlite)
        let (first, firstDB) = try await TestTree.node("clinic-1", group: "clinic", on: .sqlite, contents: .coreData)
        let (second, secondDB) = try await TestTree.node("clinic-2", group: "clinic", on: .sqlite, contents: .coreData)
        defer { Task { await district.close(); await first.close(); await second.close() } }
        try await TestTree.link(child: first, to: district)
        try await TestTree.link(child: second, to: district)
        _ = try await district.changeSetting("person_name", ["policy": "manual"])
        let links = [(first, district), (second, district)]
        try await TestTree.quiesce(links)
        let name = try #require(try await district.database.scalar("SELECT uuid FROM person_name ORDER BY person_name_id LIMIT 1").string)
        for node in [district, first, second] { #expect(try await Self.nameCount(node, name) == 1) }

        try districtDB.client("DELETE FROM person_name WHERE uuid = '\(name)';")
        try await Task.sleep(for: .milliseconds(15))
        try firstDB.client("UPDATE person_name SET family_name = 'Edited at clinic 1' WHERE uuid = '\(name)';")
        try secondDB.client("UPDATE person_name SET family_name = 'Edited at clinic 2' WHERE uuid = '\(name)';")
        try await TestTree.quiesce(links)
        #expect(try await Self.nameCount(district, name) == 0)
        let kept = [try await Self.nameCount(first, name), try await Self.nameCount(second, name)]
        #expect(kept == [1, 1], "each clinic kept its row")
        let parked = try await first.database.query("""
            SELECT conflict_id FROM tributary_conflict WHERE decision = 'pending' AND kind = 'delete/update'
            """).compactMap { $0.int("conflict_id") }
        #expect(parked.count == 1)
        #expect(try await Self.pending(second) == 1)

        try await first.resolveConflict(try #require(parked.first), take: .incoming)
        try await TestTree.quiesce(links)
        for node in [district, first, second] {
            #expect(try await Self.nameCount(node, name) == 0, "\(node.id) still has the name")
            #expect(try await Self.pending(node) == 0, "\(node.id) still waits for a decision")
        }
        for clinic in [first, second] {
            let differences = try await TableSnapshot.differences(district, clinic, tables: ["person", "person_name"])
            #expect(differences.isEmpty, "\(clinic.id): \(differences.prefix(5))")
        }
    }
}
