import Foundation
import Testing
import TributaryCore
import TributaryEngine
import TributaryOpenMRS
import TributarySQL

/// The live schema, read back from each database loaded with the OpenMRS kit, agrees
/// with the kit's inventory: tables, columns, keys, foreign keys and sync-key kinds.
@Suite struct IntrospectionTests {
    struct InventoryTable {
        let name: String
        let columns: [(name: String, nullable: Bool)]
        let primaryKey: [String]
        let autoIncrement: Bool
        let foreignKeys: Set<String>
        let uniques: Set<[String]>
        let expectedKey: SyncKeyKind
    }

    /// The sync-key kind DESIGN.md's rules give for the inventory's description of a table.
    static func expectedKind(hasUUID: Bool, primaryKeyKind: String) -> SyncKeyKind {
        if hasUUID { return .uuid }
        if primaryKeyKind.hasPrefix("shared-with-parent") { return .parent }
        if ["composite", "natural-string", "none", "assigned-int"].contains(primaryKeyKind) { return .natural }
        return .none
    }

    static func inventory() throws -> [String: InventoryTable] {
        let data = try Data(contentsOf: OpenMRSKit.inventoryURL)
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let tables = try #require(root["tables"] as? [String: [String: Any]])
        var result: [String: InventoryTable] = [:]
        for (name, t) in tables {
            let columns = (t["columns"] as? [[String: Any]] ?? []).map { ($0["name"] as! String, $0["nullable"] as! Bool) }
            let fks = (t["foreign_keys"] as? [[String: Any]] ?? []).map {
                ($0["columns"] as! [String]).joined(separator: ",") + "->" + ($0["references_table"] as! String)
                    + "." + ($0["references_columns"] as! [String]).joined(separator: ",")
            }
            var uniques = Set((t["unique_constraints"] as? [[String: Any]] ?? []).map { $0["columns"] as! [String] })
            for index in t["indexes"] as? [[String: Any]] ?? [] where index["unique"] as? Bool == true {
                uniques.insert(index["columns"] as! [String])
            }
            result[name] = InventoryTable(
                name: name, columns: columns, primaryKey: t["primary_key"] as? [String] ?? [],
                autoIncrement: t["autoincrement"] as? Bool ?? false, foreignKeys: Set(fks), uniques: uniques,
                expectedKey: expectedKind(hasUUID: t["has_uuid"] as? Bool ?? false,
                                          primaryKeyKind: t["primary_key_kind"] as? String ?? ""))
        }
        return result
    }

    @Test(arguments: TestDatabase.all)
    func liveSchemaMatchesTheInventory(on kind: TestDatabase) async throws {
        let node = try await kind.fresh(.schemaOnly)
        defer { Task { await node.close() } }
        let inventory = try Self.inventory()
        let schema = try await node.database.introspect().applicationTables
        #expect(schema.tables.count == 119)
        #expect(Set(schema.tables.map(\.name)) == Set(inventory.keys))
        #expect(schema.tables.reduce(0) { $0 + $1.foreignKeys.count } == 448)
        for table in schema.tables {
            guard let expected = inventory[table.name] else { continue }
            #expect(table.columnNames == expected.columns.map(\.name), "\(kind) \(table.name) columns")
            for (name, nullable) in expected.columns {
                #expect(table.column(name)?.nullable == nullable, "\(kind) \(table.name).\(name) nullability")
            }
            #expect(table.primaryKey == expected.primaryKey, "\(kind) \(table.name) primary key")
            #expect(table.columns.contains(where: \.autoIncrement) == expected.autoIncrement, "\(kind) \(table.name) auto-increment")
            let fks = Set(table.foreignKeys.map { "\($0.columns.joined(separator: ","))->\($0.referencedTable).\($0.referencedColumns.joined(separator: ","))" })
            #expect(fks == expected.foreignKeys, "\(kind) \(table.name) foreign keys")
            #expect(Set(table.uniqueConstraints) == expected.uniques, "\(kind) \(table.name) unique constraints")
        }
    }

    /// What `tributary tables --json` prints agrees with inventory.json's key kinds.
    @Test(arguments: TestDatabase.all)
    func tablesJSONAgreesWithInventoryKeyKinds(on kind: TestDatabase) async throws {
        let node = try await kind.fresh(.schemaOnly)
        defer { Task { await node.close() } }
        let inventory = try Self.inventory()
        let catalog = TableCatalog(schema: try await node.database.introspect(), profile: OpenMRSProfile())
        let json = try TableReport.json(catalog)
        let objects = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
        #expect(objects.count == 119)
        var kinds: [String: Int] = [:]
        for object in objects {
            let table = try #require(object["table"] as? String)
            let key = try #require(object["key"] as? String)
            kinds[key, default: 0] += 1
            #expect(key == inventory[table]?.expectedKey.rawValue, "\(kind) \(table): key \(key)")
            #expect(object["key_columns"] is [String])
            #expect(object["enabled"] is Bool)
            #expect(["up", "down", "both"].contains(object["direction"] as? String ?? ""))
            if key == "none" { #expect(object["enabled"] as? Bool == false, "\(table) has no identity but is enabled") }
        }
        #expect(kinds == ["uuid": 103, "parent": 6, "natural": 9, "none": 1])
        let patient = try #require(objects.first { $0["table"] as? String == "patient" })
        #expect(patient["key_columns"] as? [String] == ["patient_id"])
        let rolePrivilege = try #require(objects.first { $0["table"] as? String == "role_privilege" })
        #expect(Set(rolePrivilege["key_columns"] as? [String] ?? []) == ["role", "privilege"])
    }
}
