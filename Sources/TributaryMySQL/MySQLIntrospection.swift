import TributarySQL

/// Reads the current database's base tables from information_schema.
enum MySQLIntrospection {
    static func read(_ db: some SQLExecutor) async throws -> DatabaseSchema {
        let columnRows = try await db.query("""
            SELECT c.TABLE_NAME AS tbl, c.COLUMN_NAME AS col, c.COLUMN_TYPE AS type, c.IS_NULLABLE AS nullable,
                   c.COLUMN_DEFAULT AS dflt, c.EXTRA AS extra
            FROM information_schema.COLUMNS c
            JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME
            WHERE c.TABLE_SCHEMA = DATABASE() AND t.TABLE_TYPE = 'BASE TABLE'
            ORDER BY c.TABLE_NAME, c.ORDINAL_POSITION
            """)
        let keyRows = try await db.query("""
            SELECT k.TABLE_NAME AS tbl, k.CONSTRAINT_NAME AS name, tc.CONSTRAINT_TYPE AS kind, k.COLUMN_NAME AS col,
                   k.REFERENCED_TABLE_NAME AS target, k.REFERENCED_COLUMN_NAME AS target_col
            FROM information_schema.KEY_COLUMN_USAGE k
            JOIN information_schema.TABLE_CONSTRAINTS tc
              ON tc.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND tc.TABLE_NAME = k.TABLE_NAME AND tc.CONSTRAINT_NAME = k.CONSTRAINT_NAME
            WHERE k.TABLE_SCHEMA = DATABASE()
            ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION
            """)

        var tables: [String: TableSchema] = [:]
        var order: [String] = []
        for row in columnRows {
            let table = row.string("tbl")!
            if tables[table] == nil {
                tables[table] = TableSchema(name: table, columns: [], primaryKey: [], uniqueConstraints: [], foreignKeys: [])
                order.append(table)
            }
            let type = row.string("type")!
            var defaultValue = row.string("dflt")
            if defaultValue == "NULL" { defaultValue = nil }  // MariaDB spells "no default" as NULL
            tables[table]!.columns.append(ColumnSchema(
                name: row.string("col")!, declaredType: type, kind: ColumnKind(declaredType: type),
                nullable: row.string("nullable") == "YES", defaultValue: defaultValue,
                autoIncrement: row.string("extra")?.lowercased().contains("auto_increment") ?? false))
        }
        var foreignKeys: [String: [String: ForeignKey]] = [:]
        var uniques: [String: [(String, [String])]] = [:]
        for row in keyRows {
            let table = row.string("tbl")!, name = row.string("name")!, column = row.string("col")!
            guard tables[table] != nil else { continue }
            switch row.string("kind") {
            case "PRIMARY KEY":
                tables[table]!.primaryKey.append(column)
            case "UNIQUE":
                var list = uniques[table] ?? []
                if let last = list.indices.last, list[last].0 == name { list[last].1.append(column) } else { list.append((name, [column])) }
                uniques[table] = list
            case "FOREIGN KEY":
                var fk = foreignKeys[table]?[name] ?? ForeignKey(name: name, columns: [], referencedTable: row.string("target")!, referencedColumns: [])
                fk.columns.append(column)
                fk.referencedColumns.append(row.string("target_col")!)
                foreignKeys[table, default: [:]][name] = fk
            default: break
            }
        }
        return DatabaseSchema(tables: order.map { name in
            let t = tables[name]!
            return TableSchema(name: name, columns: t.columns, primaryKey: t.primaryKey,
                               uniqueConstraints: (uniques[name] ?? []).map(\.1),
                               foreignKeys: Array((foreignKeys[name] ?? [:]).values))
        })
    }
}
