import TributarySQL

/// MySQL/MariaDB: three triggers per table. The loader's mark is a set of session
/// user variables, cleared by the loader when its transaction ends. MySQL gives an
/// unprivileged trigger no transaction id, so the connection id stands in for it.
public struct MySQLCapture: CaptureDialect {
    public var syntax: SQLSyntax { .mysql }
    public init() {}

    func image(_ row: String, _ columns: [ColumnSchema]) -> String {
        "JSON_OBJECT(" + columns.map { c in
            let value = "\(row).\(quote(c.name))"
            return literal(c.name) + ", " + (c.kind == .binary ? "HEX(\(value))" : value)
        }.joined(separator: ", ") + ")"
    }

    func insertChange(_ table: TableSchema, _ op: String, keyColumns: [String], new: Bool, old: Bool) -> String {
        let keyRow = new ? "NEW" : "OLD"
        let key = "JSON_OBJECT(" + keyColumns.map { literal($0) + ", \(keyRow).\(quote($0))" }.joined(separator: ", ") + ")"
        return """
        INSERT INTO tributary_change (\(changeColumns)) VALUES (\(literal(table.name)), '\(op)', \(key), \
        \(new ? image("NEW", table.columns) : "NULL"), \(old ? image("OLD", table.columns) : "NULL"), UTC_TIMESTAMP(6), \
        CONNECTION_ID(), @tributary_source_node, @tributary_origin_node, COALESCE(@tributary_origin_time, UTC_TIMESTAMP(6)))
        """
    }

    /// Compares bytes, not collation: `_ci` collations would call a case-only edit a no-op.
    func unchanged(_ column: ColumnSchema) -> String {
        let n = "NEW.\(quote(column.name))", o = "OLD.\(quote(column.name))"
        return column.kind == .text ? "BINARY \(n) <=> BINARY \(o)" : "\(n) <=> \(o)"
    }

    public func installTriggers(for table: TableSchema, keyColumns: [String]) -> [String] {
        let t = quote(table.name)
        let same = table.columns.map(unchanged).joined(separator: " AND ")
        return removeTriggers(for: table.name) + [
            "CREATE TRIGGER \(quote(triggerName(table.name, "ins"))) AFTER INSERT ON \(t) FOR EACH ROW \(insertChange(table, "I", keyColumns: keyColumns, new: true, old: false))",
            "CREATE TRIGGER \(quote(triggerName(table.name, "upd"))) AFTER UPDATE ON \(t) FOR EACH ROW BEGIN IF NOT (\(same)) THEN \(insertChange(table, "U", keyColumns: keyColumns, new: true, old: true)); END IF; END",
            "CREATE TRIGGER \(quote(triggerName(table.name, "del"))) AFTER DELETE ON \(t) FOR EACH ROW \(insertChange(table, "D", keyColumns: keyColumns, new: false, old: true))",
        ]
    }

    public func removeTriggers(for table: String) -> [String] {
        ["ins", "upd", "del"].map { "DROP TRIGGER IF EXISTS \(quote(triggerName(table, $0)))" }
    }

    public func markLoader(source: String, originNode: String, originTime: String) -> [SQL] {
        ["SET @tributary_source_node = \(source), @tributary_origin_node = \(originNode), @tributary_origin_time = \(SQLValue.datetime(originTime))"]
    }

    public func fixOrigins(table: String, source: String, after: Int64, upTo: Int64, match: StampMatch, stamps: [OriginFix]) -> SQL {
        let rows = SQL.join(stamps.enumerated().map { i, s in
            i == 0 ? "SELECT \(s.value) AS u, \(s.node) AS n, \(SQLValue.datetime(s.time)) AS t" : "SELECT \(s.value), \(s.node), \(SQLValue.datetime(s.time))"
        }, separator: " UNION ALL ")
        let found = switch match {
        case .uuid: SQL(trusted: "JSON_UNQUOTE(JSON_EXTRACT(COALESCE(new_row, old_row), '$.uuid'))")
        case .keyColumn(let column): SQL(trusted: "JSON_UNQUOTE(JSON_EXTRACT(pk, \(literal("$.\"" + column + "\""))))")
        }
        return """
            UPDATE tributary_change c
            JOIN (SELECT change_id, \(found) AS u FROM tributary_change
                  WHERE change_id > \(after) AND change_id <= \(upTo) AND table_name = \(table) AND source_node = \(source)) x ON x.change_id = c.change_id
            JOIN (\(rows)) v ON v.u = x.u
            SET c.origin_node = v.n, c.origin_time = v.t
            """
    }

    public func clearLoader() -> [SQL] {
        ["SET @tributary_source_node = NULL, @tributary_origin_node = NULL, @tributary_origin_time = NULL"]
    }

    public func snapshotImages(of table: TableSchema, keyColumns: [String], alias: String) -> (key: String, row: String) {
        ("JSON_OBJECT(" + keyColumns.map { literal($0) + ", \(alias).\(quote($0))" }.joined(separator: ", ") + ")", image(alias, table.columns))
    }
}
