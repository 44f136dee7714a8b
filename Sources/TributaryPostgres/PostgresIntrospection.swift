import TributarySQL

/// Reads the current schema's tables from pg_catalog in three queries.
enum PostgresIntrospection {
    static func read(_ db: some SQLExecutor) async throws -> DatabaseSchema {
        let columnRows = try await db.query("""
            SELECT c.relname::text AS tbl, a.attname::text AS col, format_type(a.atttypid, a.atttypmod) AS type,
                   NOT a.attnotnull AS nullable, pg_get_expr(d.adbin, d.adrelid) AS dflt,
                   (a.attidentity <> '' OR coalesce(pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval(%', false)) AS autoinc
            FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
            LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
            WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema()
            ORDER BY c.relname, a.attnum
            """)
        let constraintRows = try await db.query("""
            SELECT c.relname::text AS tbl, con.conname::text AS name, con.contype::text AS kind,
                   f.relname::text AS target, k.ord, a.attname::text AS col, fa.attname::text AS target_col
            FROM pg_constraint con
            JOIN pg_class c ON c.oid = con.conrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            CROSS JOIN LATERAL unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
            LEFT JOIN pg_class f ON f.oid = con.confrelid
            LEFT JOIN pg_attribute fa ON fa.attrelid = con.confrelid AND fa.attnum = con.confkey[k.ord]
            WHERE n.nspname = current_schema() AND con.contype IN ('p', 'f')
            ORDER BY c.relname, con.conname, k.ord
            """)
        // Unique indexes, whether declared as constraints or created as indexes.
        let uniqueRows = try await db.query("""
            SELECT c.relname::text AS tbl, ic.relname::text AS name, k.ord, a.attname::text AS col
            FROM pg_index i
            JOIN pg_class c ON c.oid = i.indrelid
            JOIN pg_class ic ON ic.oid = i.indexrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
            WHERE n.nspname = current_schema() AND i.indisunique AND NOT i.indisprimary
            ORDER BY c.relname, ic.relname, k.ord
            """)

        var builder = SchemaBuilder()
        for row in columnRows {
            let type = row.string("type")!
            builder.addColumn(row.string("tbl")!, ColumnSchema(
                name: row.string("col")!, declaredType: type, kind: ColumnKind(declaredType: type),
                nullable: row["nullable"] == .bool(true), defaultValue: row.string("dflt"),
                autoIncrement: row["autoinc"] == .bool(true)))
        }
        for row in constraintRows {
            let table = row.string("tbl")!
            if row.string("kind") == "p" {
                builder.addPrimaryKeyColumn(table, row.string("col")!)
            } else {
                builder.addForeignKeyColumn(table, constraint: row.string("name")!, column: row.string("col")!,
                                            target: row.string("target")!, targetColumn: row.string("target_col")!)
            }
        }
        for row in uniqueRows {
            builder.addUniqueColumn(row.string("tbl")!, constraint: row.string("name")!, column: row.string("col")!)
        }
        return builder.build()
    }
}
