import Foundation
import Testing
import TributaryCore
import TributaryEngine
import TributarySQL

/// Each change keeps its own origin stamp through a tier, also when a batch writes many rows
/// in one statement (the loader then sets the stamps after the write, see `StampFixes`).
@Suite struct OriginStampTests {
    static let pairs: [(child: TestDatabase, parent: TestDatabase)] = [(.sqlite, .postgres), (.postgres, .mariadb), (.mariadb, .sqlite)]

    /// origin node and time of each captured change of `table`, by the row's uuid, in capture order.
    static func stamps(_ node: SyncNode, table: String) async throws -> [String: [String]] {
        var result: [String: [String]] = [:]
        for row in try await node.database.query("""
            SELECT new_row, old_row, origin_node, origin_time FROM tributary_change WHERE table_name = \(table) AND target_node IS NULL ORDER BY change_id
            """) {
            let image = (row.string("new_row") ?? row.string("old_row")) ?? ""
            guard let uuid = image.range(of: #"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"#, options: .regularExpression)
                .map({ String(image[$0]) }) else { continue }
            let time = ColumnKind.datetime.normalize(row["origin_time"]).string ?? "?"
            result[uuid, default: []].append("\(row.string("origin_node") ?? node.id.rawValue) \(time)")
        }
        return result
    }

    /// The same for `patient`, whose rows have no uuid: by the uuid of the person each one is.
    static func patientStamps(_ node: SyncNode) async throws -> [String: [String]] {
        var result: [String: [String]] = [:]
        for row in try await node.database.query("""
            SELECT p.uuid, c.origin_node, c.origin_time FROM tributary_change c JOIN person p ON c.pk LIKE \(SQL(trusted: Self.pkPattern(node)))
            WHERE c.table_name = 'patient' AND c.target_node IS NULL ORDER BY c.change_id
            """) {
            let time = ColumnKind.datetime.normalize(row["origin_time"]).string ?? "?"
            result[row.string("uuid") ?? "?", default: []].append("\(row.string("origin_node") ?? node.id.rawValue) \(time)")
        }
        return result
    }

    /// `pk` holds `{"patient_id": N}` (spacing differs by dialect): matched on the number and the closing brace.
    static func pkPattern(_ node: SyncNode) -> String {
        switch node.database.syntax {
        case .postgres: "'%: ' || p.person_id || '}'"
        case .mysql: "CONCAT('%: ', p.person_id, '}')"
        case .sqlite: "'%:' || p.person_id || '}'"
        }
    }

    @Test(arguments: pairs.filter { TestDatabase.all.contains($0.child) && TestDatabase.all.contains($0.parent) }.map { "\($0.child)-under-\($0.parent)" })
    func everyRowKeepsItsOwnOriginStampThroughATier(pairName: String) async throws {
        let kinds = pairName.components(separatedBy: "-under-").map { TestDatabase(rawValue: $0)! }
        let (parent, _) = try await TestTree.node("central", group: "central", on: kinds[1], contents: .coreData)
        let (child, childDB) = try await TestTree.node("clinic-1", group: "clinic", on: kinds[0], contents: .coreData)
        defer { Task { await parent.close(); await child.close() } }
        try await TestTree.link(child: child, to: parent)
        try await TestTree.settle(child, parent)
        // Rows made one statement at a time, so each has its own stamp; one is changed twice.
        var uuids: [String] = []
        for i in 0..<6 {
            let uuid = SyncFlowTests.uuid()
            uuids.append(uuid)
            try childDB.client("INSERT INTO person (gender, creator, date_created, voided, uuid) VALUES ('F', 1, '2026-11-22 10:00:0\(i)', '0', '\(uuid)');")
            try await Task.sleep(for: .milliseconds(3))
        }
        // Patients (keyed by their person, no uuid): two in the same batch as their persons,
        // two after the persons reached the parent.
        func makePatient(_ uuid: String, second: Int) throws {
            try childDB.client("INSERT INTO patient (patient_id, creator, date_created, voided) SELECT person_id, 1, '2026-11-22 10:01:0\(second)', '0' FROM person WHERE uuid = '\(uuid)';")
        }
        try makePatient(uuids[0], second: 0)
        try await Task.sleep(for: .milliseconds(3))
        try makePatient(uuids[1], second: 1)
        try await TestTree.settle(child, parent)
        try makePatient(uuids[2], second: 2)
        try await Task.sleep(for: .milliseconds(3))
        try makePatient(uuids[3], second: 3)
        try await Task.sleep(for: .milliseconds(3))
        try childDB.client("UPDATE person SET gender = 'M' WHERE uuid = '\(uuids[2])';")
        try await Task.sleep(for: .milliseconds(3))
        try childDB.client("DELETE FROM person WHERE uuid = '\(uuids[4])';")
        try await TestTree.settle(child, parent)
        let atChild = try await Self.stamps(child, table: "person"), atParent = try await Self.stamps(parent, table: "person")
        let times = Set(uuids.compactMap { atChild[$0]?.first })
        #expect(times.count == uuids.count, "the rows were captured with distinct stamps: \(times)")
        for uuid in uuids {
            #expect(atParent[uuid] == atChild[uuid], "\(uuid): at the child \(atChild[uuid] ?? []), at the parent \(atParent[uuid] ?? [])")
        }
        let patientsAtChild = try await Self.patientStamps(child), patientsAtParent = try await Self.patientStamps(parent)
        #expect(Set(patientsAtChild.values.compactMap(\.first)).count == 4, "four patients with distinct stamps: \(patientsAtChild)")
        for uuid in uuids.prefix(4) {
            #expect(patientsAtParent[uuid] != nil && patientsAtParent[uuid] == patientsAtChild[uuid],
                    "patient \(uuid): at the child \(patientsAtChild[uuid] ?? []), at the parent \(patientsAtParent[uuid] ?? [])")
        }
    }
}
