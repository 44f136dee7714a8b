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

        var tables: [String: TableSchema] = [:]
        var order: [String] = []
        for row in columnRows {
            let table = row.string("tbl")!
            if tables[table] == nil {
                tables[table] = TableSchema(name: table, columns: [], primaryKey: [], uniqueConstraints: [], foreignKeys: [])
                order.append(table)
            }
            let type = row.string("type")!
            tables[table]!.columns.append(ColumnSchema(
                name: row.string("col")!, declaredType: type, kind: ColumnKind(declaredType: type),
                nullable: row["nullable"] == .bool(true), defaultValue: row.string("dflt"),
                autoIncrement: row["autoinc"] == .bool(true)))
        }
        var foreignKeys: [String: [String: ForeignKey]] = [:]
        for row in constraintRows {
            let table = row.string("tbl")!, name = row.string("name")!
            guard tables[table] != nil else { continue }
            if row.string("kind") == "p" {
                tables[table]!.primaryKey.append(row.string("col")!)
            } else {
                var fk = foreignKeys[table]?[name] ?? ForeignKey(name: name, columns: [], referencedTable: row.string("target")!, referencedColumns: [])
                fk.columns.append(row.string("col")!)
                fk.referencedColumns.append(row.string("target_col")!)
                foreignKeys[table, default: [:]][name] = fk
            }
        }
        var uniques: [String: [(String, [String])]] = [:]
        for row in uniqueRows {
            let table = row.string("tbl")!, name = row.string("name")!
            var list = uniques[table] ?? []
            if let last = list.indices.last, list[last].0 == name { list[last].1.append(row.string("col")!) }
            else { list.append((name, [row.string("col")!])) }
            uniques[table] = list
        }
        return DatabaseSchema(tables: order.map { name in
            let t = tables[name]!
            return TableSchema(name: name, columns: t.columns, primaryKey: t.primaryKey,
                               uniqueConstraints: (uniques[name] ?? []).map(\.1),
                               foreignKeys: Array((foreignKeys[name] ?? [:]).values))
        })
    }
}
