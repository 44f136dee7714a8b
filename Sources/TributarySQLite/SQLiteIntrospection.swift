import GRDB
import TributarySQL

/// Reads the schema through SQLite's pragma table functions, all tables at once.
enum SQLiteIntrospection {
    static func read(_ db: GRDB.Database) throws -> DatabaseSchema {
        let tables = try Array<(String, String)>(
            GRDB.Row.fetchAll(db, sql: "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
                .map { ($0["name"] as String, ($0["sql"] as String?) ?? "") })

        var columns: [String: [(cid: Int, column: ColumnSchema, pk: Int)]] = [:]
        for row in try GRDB.Row.fetchAll(db, sql: """
            SELECT m.name AS tbl, p.cid, p.name, p.type, p."notnull" AS not_null, p.dflt_value, p.pk
            FROM sqlite_master m, pragma_table_info(m.name) p
            WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'
            """) {
            let type: String = row["type"]
            let column = ColumnSchema(name: row["name"], declaredType: type, kind: ColumnKind(declaredType: type),
                                      nullable: (row["not_null"] as Int) == 0, defaultValue: row["dflt_value"],
                                      autoIncrement: false)
            columns[row["tbl"], default: []].append((row["cid"], column, row["pk"]))
        }

        var foreignKeys: [String: [Int: TributarySQL.ForeignKey]] = [:]
        for row in try GRDB.Row.fetchAll(db, sql: """
            SELECT m.name AS tbl, f.id, f.seq, f."table" AS target, f."from" AS source, f."to" AS dest
            FROM sqlite_master m, pragma_foreign_key_list(m.name) f
            WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY m.name, f.id, f.seq
            """) {
            let table: String = row["tbl"], id: Int = row["id"]
            var fk = foreignKeys[table]?[id] ?? TributarySQL.ForeignKey(name: nil, columns: [], referencedTable: row["target"], referencedColumns: [])
            fk.columns.append(row["source"])
            fk.referencedColumns.append((row["dest"] as String?) ?? "")
            foreignKeys[table, default: [:]][id] = fk
        }

        var uniques: [String: [[String]]] = [:]
        var lastIndexName: [String: String] = [:]
        for row in try GRDB.Row.fetchAll(db, sql: """
            SELECT m.name AS tbl, l.name AS idx, i.name AS col
            FROM sqlite_master m, pragma_index_list(m.name) l, pragma_index_info(l.name) i
            WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND l."unique" = 1 AND l.origin <> 'pk'
            ORDER BY m.name, l.name, i.seqno
            """) {
            let table: String = row["tbl"], index: String = row["idx"]
            var list = uniques[table] ?? []
            if let last = list.indices.last, lastIndexName[table] == index { list[last].append(row["col"]) }
            else { list.append([row["col"]]) }
            lastIndexName[table] = index
            uniques[table] = list
        }

        var result: [TableSchema] = []
        for (name, createSQL) in tables {
            let cols = (columns[name] ?? []).sorted { $0.cid < $1.cid }
            let pk = cols.filter { $0.pk > 0 }.sorted { $0.pk < $1.pk }.map(\.column.name)
            var schemaColumns = cols.map(\.column)
            // Only AUTOINCREMENT marks a generated key: a plain INTEGER PRIMARY KEY
            // (OpenMRS `note`) is assigned by the application.
            if pk.count == 1, let i = schemaColumns.firstIndex(where: { $0.name == pk[0] }),
               schemaColumns[i].declaredType.uppercased() == "INTEGER",
               createSQL.uppercased().contains("AUTOINCREMENT") {
                schemaColumns[i].autoIncrement = true
            }
            result.append(TableSchema(name: name, columns: schemaColumns, primaryKey: pk,
                                      uniqueConstraints: uniques[name] ?? [],
                                      foreignKeys: Array((foreignKeys[name] ?? [:]).values)))
        }
        // A foreign key that names no target columns references the target's primary key.
        let primaryKeys = Dictionary(uniqueKeysWithValues: result.map { ($0.name, $0.primaryKey) })
        for t in result.indices {
            result[t].foreignKeys = result[t].foreignKeys.map { fk in
                var fk = fk
                if fk.referencedColumns.contains(""), let pk = primaryKeys[fk.referencedTable] { fk.referencedColumns = pk }
                return fk
            }
        }
        return DatabaseSchema(tables: result)
    }
}
