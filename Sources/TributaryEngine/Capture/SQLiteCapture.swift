import TributarySQL

/// SQLite: three triggers per table; the loader's mark is a row of `tributary_session`
/// written inside the loader's own transaction, so no other connection ever sees it.
public struct SQLiteCapture: CaptureDialect {
    public var syntax: SQLSyntax { .sqlite }
    public init() {}

    static let now = "strftime('%Y-%m-%d %H:%M:%f', 'now')"
    static let session = "(SELECT %@ FROM tributary_session WHERE id = 1)"

    /// json_object takes at most 127 arguments here; wide tables are built in chunks.
    func image(_ row: String, _ columns: [ColumnSchema]) -> String {
        let chunks = stride(from: 0, to: columns.count, by: 50).map { Array(columns[$0..<min($0 + 50, columns.count)]) }
        let objects = chunks.map { chunk in
            "json_object(" + chunk.map { c in
                let value = "\(row).\(quote(c.name))"
                return literal(c.name) + ", " + (c.kind == .binary ? "hex(\(value))" : value)
            }.joined(separator: ", ") + ")"
        }
        return objects.dropFirst().reduce(objects.first ?? "json_object()") { "json_patch(\($0), \($1))" }
    }

    func keyImage(_ row: String, _ keyColumns: [String]) -> String {
        "json_object(" + keyColumns.map { literal($0) + ", \(row).\(quote($0))" }.joined(separator: ", ") + ")"
    }

    func insertChange(_ table: TableSchema, _ op: String, keyColumns: [String], new: Bool, old: Bool) -> String {
        let keyRow = new ? "NEW" : "OLD"
        let source = { (column: String) in Self.session.replacingOccurrences(of: "%@", with: column) }
        return """
        INSERT INTO tributary_change (\(changeColumns)) VALUES (\(literal(table.name)), '\(op)', \(keyImage(keyRow, keyColumns)), \
        \(new ? image("NEW", table.columns) : "NULL"), \(old ? image("OLD", table.columns) : "NULL"), \(Self.now), NULL, \
        \(source("source_node")), \(source("origin_node")), COALESCE(\(source("origin_time")), \(Self.now)));
        """
    }

    public func installTriggers(for table: TableSchema, keyColumns: [String]) -> [String] {
        let t = quote(table.name)
        let changed = table.columns.map { "NEW.\(quote($0.name)) IS NOT OLD.\(quote($0.name))" }.joined(separator: " OR ")
        return removeTriggers(for: table.name) + [
            "CREATE TRIGGER \(quote(triggerName(table.name, "ins"))) AFTER INSERT ON \(t) BEGIN \(insertChange(table, "I", keyColumns: keyColumns, new: true, old: false)) END",
            "CREATE TRIGGER \(quote(triggerName(table.name, "upd"))) AFTER UPDATE ON \(t) WHEN \(changed) BEGIN \(insertChange(table, "U", keyColumns: keyColumns, new: true, old: true)) END",
            "CREATE TRIGGER \(quote(triggerName(table.name, "del"))) AFTER DELETE ON \(t) BEGIN \(insertChange(table, "D", keyColumns: keyColumns, new: false, old: true)) END",
        ]
    }

    public func removeTriggers(for table: String) -> [String] {
        ["ins", "upd", "del"].map { "DROP TRIGGER IF EXISTS \(quote(triggerName(table, $0)))" }
    }

    public func markLoader(source: String, originNode: String, originTime: String) -> [SQL] {
        ["INSERT OR REPLACE INTO tributary_session (id, source_node, origin_node, origin_time) VALUES (1, \(source), \(originNode), \(originTime))"]
    }

    public func clearLoader() -> [SQL] { ["DELETE FROM tributary_session"] }

    public func fixOrigins(table: String, source: String, after: Int64, upTo: Int64, match: StampMatch, stamps: [OriginFix]) -> SQL {
        let values = SQL.join(stamps.map { "(\($0.value), \($0.node), \($0.time))" }, separator: ", ")
        let found = switch match {
        case .uuid: SQL(trusted: "json_extract(COALESCE(new_row, old_row), '$.uuid')")
        // json_extract gives a number for a number; the stamps carry text.
        case .keyColumn(let column): SQL(trusted: "CAST(json_extract(pk, \(literal("$.\"" + column + "\""))) AS TEXT)")
        }
        return """
            WITH x AS MATERIALIZED (
              SELECT change_id, \(found) AS u FROM tributary_change
              WHERE change_id > \(after) AND change_id <= \(upTo) AND table_name = \(table) AND source_node = \(source))
            UPDATE tributary_change SET origin_node = v.column2, origin_time = v.column3
            FROM x JOIN (VALUES \(values)) AS v ON x.u = v.column1
            WHERE tributary_change.change_id = x.change_id
            """
    }

    public func snapshotImages(of table: TableSchema, keyColumns: [String], alias: String) -> (key: String, row: String) {
        (keyImage(alias, keyColumns), image(alias, table.columns))
    }
}
