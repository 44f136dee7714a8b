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

        var builder = SchemaBuilder()
        for row in columnRows {
            let type = row.string("type")!
            var defaultValue = row.string("dflt")
            if defaultValue == "NULL" { defaultValue = nil }  // MariaDB spells "no default" as NULL
            builder.addColumn(row.string("tbl")!, ColumnSchema(
                name: row.string("col")!, declaredType: type, kind: ColumnKind(declaredType: type),
                nullable: row.string("nullable") == "YES", defaultValue: defaultValue,
                autoIncrement: row.string("extra")?.lowercased().contains("auto_increment") ?? false))
        }
        for row in keyRows {
            let table = row.string("tbl")!, name = row.string("name")!, column = row.string("col")!
            switch row.string("kind") {
            case "PRIMARY KEY": builder.addPrimaryKeyColumn(table, column)
            case "UNIQUE": builder.addUniqueColumn(table, constraint: name, column: column)
            case "FOREIGN KEY":
                builder.addForeignKeyColumn(table, constraint: name, column: column, target: row.string("target")!, targetColumn: row.string("target_col")!)
            default: break
            }
        }
        return builder.build()
    }
}
