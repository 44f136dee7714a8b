/// Assembles a schema from catalog rows read one column, key part or constraint part at a time.
public struct SchemaBuilder {
    private var tables: [String: TableSchema] = [:]
    private var order: [String] = []
    private var foreignKeys: [String: [String: ForeignKey]] = [:]
    private var uniques: [String: [(name: String, columns: [String])]] = [:]

    public init() {}

    public mutating func addColumn(_ table: String, _ column: ColumnSchema) {
        if tables[table] == nil {
            tables[table] = TableSchema(name: table, columns: [], primaryKey: [], uniqueConstraints: [], foreignKeys: [])
            order.append(table)
        }
        tables[table]!.columns.append(column)
    }

    /// Key parts arrive in key order; parts of tables without columns are ignored.
    public mutating func addPrimaryKeyColumn(_ table: String, _ column: String) {
        tables[table]?.primaryKey.append(column)
    }

    public mutating func addForeignKeyColumn(_ table: String, constraint: String, column: String, target: String, targetColumn: String) {
        guard tables[table] != nil else { return }
        var fk = foreignKeys[table]?[constraint] ?? ForeignKey(name: constraint, columns: [], referencedTable: target, referencedColumns: [])
        fk.columns.append(column)
        fk.referencedColumns.append(targetColumn)
        foreignKeys[table, default: [:]][constraint] = fk
    }

    public mutating func addUniqueColumn(_ table: String, constraint: String, column: String) {
        var list = uniques[table] ?? []
        if let last = list.indices.last, list[last].name == constraint { list[last].columns.append(column) }
        else { list.append((constraint, [column])) }
        uniques[table] = list
    }

    public func build() -> DatabaseSchema {
        DatabaseSchema(tables: order.map { name in
            let t = tables[name]!
            return TableSchema(name: name, columns: t.columns, primaryKey: t.primaryKey,
                               uniqueConstraints: (uniques[name] ?? []).map(\.columns),
                               foreignKeys: Array((foreignKeys[name] ?? [:]).values))
        })
    }
}
