import Foundation
import Testing
import TributaryOpenMRS

/// The OpenMRS profile's facts, checked against the shipped schema inventory.
@Suite struct OpenMRSProfileTests {
    static func inventory() throws -> [String: [String: Any]] {
        let root = try JSONSerialization.jsonObject(with: Data(contentsOf: OpenMRSKit.inventoryURL)) as! [String: Any]
        return root["tables"] as! [String: [String: Any]]
    }

    @Test func undeclaredReferencesNameRealColumnsThatHaveNoForeignKey() throws {
        let tables = try Self.inventory()
        var count = 0
        for (table, references) in OpenMRSProfile.undeclared {
            let t = try #require(tables[table], "\(table) is not an OpenMRS table")
            let columns = (t["columns"] as! [[String: Any]]).map { $0["name"] as! String }
            let declared = (t["foreign_keys"] as! [[String: Any]]).flatMap { $0["columns"] as! [String] }
            for (column, target, targetColumn) in references {
                #expect(columns.contains(column), "\(table).\(column) does not exist")
                #expect(!declared.contains(column), "\(table).\(column) already has a foreign key")
                let targetColumns = (tables[target]?["columns"] as? [[String: Any]])?.map { $0["name"] as! String } ?? []
                #expect(targetColumns.contains(targetColumn), "\(target).\(targetColumn) does not exist")
                count += 1
            }
        }
        #expect(count == 17)
    }

    /// No foreign key leads from a metadata table to a clinical one: channels never wait on each other in a cycle.
    @Test func noMetadataTableReferencesAClinicalTable() throws {
        let profile = OpenMRSProfile()
        for (table, t) in try Self.inventory() where profile.setting(for: table).channel == "metadata" {
            for fk in t["foreign_keys"] as! [[String: Any]] {
                let target = fk["references_table"] as! String
                #expect(profile.setting(for: target).channel == "metadata", "\(table) → \(target) crosses from metadata to clinical")
            }
        }
    }
}
