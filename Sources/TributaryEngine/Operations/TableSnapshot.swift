import TributaryCore
import TributarySQL

/// A table's rows as every node can compare them: by sync key, references as sync
/// keys, local generated ids left out. Two nodes hold the same data when these match.
public enum TableSnapshot {
    public static func rows(of entry: TableCatalog.Entry, in db: any SQLExecutor, catalog: TableCatalog) async throws -> [WireKey: [String: WireValue]] {
        let resolver = KeyResolver(db: db, catalog: catalog)
        let columns = entry.table.columns
        let raw = try await db.query("SELECT \(idents: columns.map(\.name)) FROM \(ident: entry.name)")
        let rows = raw.map { row in Dictionary(uniqueKeysWithValues: columns.map { ($0.name, $0.kind.normalize(row[$0.name])) }) }
        var translated: [String: [SQLValue: WireKey]] = [:]
        for reference in entry.references {
            translated[reference.column] = try await resolver.wireKeys(table: reference.targetTable, column: reference.targetColumn,
                                                                       values: Set(rows.compactMap { $0[reference.column] }.filter { !$0.isNull }))
        }
        let keys = try await resolver.wireKeys(ofRows: rows, entry: entry)
        var result: [WireKey: [String: WireValue]] = [:]
        for (row, key) in zip(rows, keys) {
            var wire: [String: WireValue] = [:]
            for column in columns {
                let value = row[column.name] ?? .null
                if entry.reference(on: column.name) != nil {
                    wire[column.name] = value.isNull ? .null : (translated[column.name]?[value]).map(WireValue.key) ?? .string("unresolved \(value)")
                } else if !column.autoIncrement {
                    wire[column.name] = WireCoding.wire(value)
                }
            }
            if let typed = entry.typedValue, let value = try await resolver.wireTypedValue(entry, row: row) { wire[typed.valueColumn] = value }
            result[key] = wire
        }
        return result
    }

    /// Differences between two nodes, table by table, over the tables both sync.
    public static func differences(_ a: SyncNode, _ b: SyncNode, tables: [String]? = nil) async throws -> [String] {
        var differences: [String] = []
        for entry in a.catalog.synced where tables?.contains(entry.name) ?? true {
            guard let other = b.catalog[entry.name], other.syncs else { continue }
            let left = try await rows(of: entry, in: a.database, catalog: a.catalog)
            let right = try await rows(of: other, in: b.database, catalog: b.catalog)
            let shared = Set(entry.table.columnNames).intersection(other.table.columnNames)
            for (key, row) in left {
                guard let otherRow = right[key] else { differences.append("\(entry.name) \(WireValue.key(key)): only at \(a.id)"); continue }
                for column in shared.sorted() where row[column] != otherRow[column] && !(row[column] == nil || otherRow[column] == nil) {
                    if case .double(let x) = row[column], case .double(let y) = otherRow[column], abs(x - y) <= 1e-9 * max(abs(x), abs(y)) { continue }
                    differences.append("\(entry.name) \(WireValue.key(key)).\(column): \(row[column]!) at \(a.id), \(otherRow[column]!) at \(b.id)")
                }
            }
            for key in right.keys where left[key] == nil {
                differences.append("\(entry.name) \(WireValue.key(key)): only at \(b.id)")
            }
        }
        return differences
    }
}
