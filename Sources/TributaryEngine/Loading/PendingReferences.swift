import Foundation
import TributaryCore
import TributarySQL

/// References of snapshot rows whose target row had not arrived yet (reference cycles
/// span batches during an initial load). Each is set as soon as a later batch brings
/// its row; what is left is visible in `status`.
enum PendingReferences {
    static func hold(_ fixUp: Loader.FixUp, source: NodeID, tx: any SQLExecutor) async throws {
        let key = try encode(fixUp.key), target = try encode(fixUp.target)
        try await tx.execute("DELETE FROM tributary_pending_reference WHERE table_name = \(fixUp.table) AND sync_key = \(key) AND column_name = \(fixUp.column)")
        try await tx.execute("""
            INSERT INTO tributary_pending_reference (table_name, sync_key, column_name, target_table, target_key, source_node)
            VALUES (\(fixUp.table), \(key), \(fixUp.column), \(fixUp.reference.targetTable), \(target), \(source.rawValue))
            """)
    }

    /// Sets every held reference whose row is here now.
    static func resolve(catalog: TableCatalog, resolver: KeyResolver, tx: any SQLExecutor) async throws {
        let held = try await tx.query("SELECT table_name, sync_key, column_name, target_key FROM tributary_pending_reference")
        for row in held {
            guard let table = row.string("table_name"), let column = row.string("column_name"),
                  let keyText = row.string("sync_key"), let targetText = row.string("target_key") else { continue }
            let forget: SQL = "DELETE FROM tributary_pending_reference WHERE table_name = \(table) AND sync_key = \(keyText) AND column_name = \(column)"
            guard let entry = catalog[table], let reference = entry.reference(on: column),
                  let key = try? decode(keyText), let target = try? decode(targetText) else {
                try await tx.execute(forget)
                continue
            }
            guard let value = try await resolver.localValue(table: reference.targetTable, column: reference.targetColumn, key: target) else { continue }
            if let locator = try await resolver.localLocator(entry, key: key) {
                try await tx.execute("UPDATE \(ident: table) SET \(ident: column) = \(value) WHERE \(KeyResolver.whereClause(locator))")
            }
            try await tx.execute(forget)
        }
    }

    static func count(_ db: any SQLExecutor) async throws -> Int64 {
        try await db.scalar("SELECT COUNT(*) FROM tributary_pending_reference").int64 ?? 0
    }

    static func encode(_ key: WireKey) throws -> String { String(decoding: try JSONEncoder().encode(key), as: UTF8.self) }
    static func decode(_ text: String) throws -> WireKey { try JSONDecoder().decode(WireKey.self, from: Data(text.utf8)) }
}
