import TributarySQL

/// How a table's rows are recognised at every site (DESIGN.md, "Identity rules").
public enum SyncKeyKind: String, Sendable, Codable, Hashable {
    /// The row's `uuid` column.
    case uuid
    /// The primary key is a foreign key: the row is known by its parent row's key.
    case parent
    /// A natural or composite primary key (or, for a link table, all its columns),
    /// each part that is a foreign key translated.
    case natural
    /// No identity that means the same row at two sites.
    case none
}

/// A table's sync key: its kind, the local columns it is read from, and why.
public struct SyncKey: Sendable, Hashable {
    public var kind: SyncKeyKind
    public var columns: [String]
    /// For `.none`, why the table has no stable identity.
    public var reason: String?

    public init(kind: SyncKeyKind, columns: [String], reason: String? = nil) {
        self.kind = kind
        self.columns = columns
        self.reason = reason
    }

    /// Applies the identity rules to one introspected table. Pure: no I/O.
    public static func derive(for table: TableSchema) -> SyncKey {
        if table.column("uuid") != nil {
            return SyncKey(kind: .uuid, columns: ["uuid"])
        }
        let pk = table.primaryKey
        if !pk.isEmpty, table.foreignKeys.contains(where: { Set($0.columns) == Set(pk) && $0.referencedTable != table.name }) {
            return SyncKey(kind: .parent, columns: pk)
        }
        if !pk.isEmpty {
            let generated = pk.filter { table.column($0)?.autoIncrement == true }
            if generated.isEmpty {
                return SyncKey(kind: .natural, columns: pk)
            }
            return SyncKey(kind: .none, columns: [], reason:
                "auto-increment primary key (\(generated.joined(separator: ", "))) and no uuid column: the same number means different rows at different sites")
        }
        let foreignKeyColumns = Set(table.foreignKeys.flatMap(\.columns))
        if !table.columns.isEmpty, table.columns.allSatisfy({ foreignKeyColumns.contains($0.name) }) {
            return SyncKey(kind: .natural, columns: table.columnNames)
        }
        return SyncKey(kind: .none, columns: [], reason: "no primary key, no uuid column, and not every column is a foreign key")
    }
}
