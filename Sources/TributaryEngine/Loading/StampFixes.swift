import TributaryCore
import TributarySQL

/// Every change carries its own origin stamp, and the triggers take the stamp from the loader's
/// mark. Marking before every change would cut a batch into one-row statements (two round trips
/// a row), so a change to a row the batch has not touched yet is written under the current mark
/// and its captured change gets its own stamp afterwards, one statement per table. The row is
/// named by its uuid, or for a parent-keyed table (`patient`) by its local key value.
final class StampFixes {
    let dialect: any CaptureDialect
    let source: String
    /// The change log's end when the batch began, then at the last flush: only what this batch
    /// captured since is read (a waiting stamp's row is written after its stamp is noted, and
    /// every flush follows the write of the rows noted before it).
    private(set) var after: Int64
    private var pending: [String: [OriginFix]] = [:]
    private var matches: [String: StampMatch] = [:]
    private var pendingKeys: [String: Set<String>] = [:]
    private var touched: [String: Set<String>] = [:]
    /// Stays well under every dialect's limit on bound values per statement.
    static let chunk = 1_000

    init(dialect: any CaptureDialect, source: String, after: Int64) {
        self.dialect = dialect
        self.source = source
        self.after = after
    }

    /// Notes that the batch writes this row; true the first time (only then may its stamp wait:
    /// a fix matches every change of the row captured since the batch began).
    func touch(_ table: String, _ value: String) -> Bool { touched[table, default: []].insert(value).inserted }

    func isPending(_ table: String, _ value: String) -> Bool { pendingKeys[table]?.contains(value) ?? false }

    func add(_ table: String, match: StampMatch, value: String, node: String, time: String) {
        pending[table, default: []].append(OriginFix(value: value, node: node, time: time))
        pendingKeys[table, default: []].insert(value)
        matches[table] = match
    }

    /// PostgreSQL: hands the waiting stamps of rows about to be written to the insert trigger
    /// (`pg_temp.tributary_stamp`, which `clearAhead` empties once they are written), so that
    /// each row is captured with its own stamp and needs no fix afterwards (a fix rewrote
    /// every captured row: 1.4 s of 108,000). True when it wrote any. A stamp whose row goes
    /// another way (merged into a twin) waits for `flush` as before.
    func writeAhead(_ table: TableSchema, keyColumns: [String], columns: [String], rows: [[SQLValue]], tx: any SQLExecutor) async throws -> Bool {
        guard let fixes = pending[table.name], let column = PostgresCapture.stampColumn(table, keyColumns: keyColumns),
              let index = columns.firstIndex(of: column) else { return false }
        switch matches[table.name] ?? .uuid {
        case .uuid: guard column == "uuid" else { return false }
        case .keyColumn(let key): guard column == key else { return false }
        }
        var written = Set<String>()
        for row in rows {
            switch row[index] {
            case .text(let value): written.insert(value)
            case .integer(let value): written.insert(String(value))
            default: continue
            }
        }
        let taken = fixes.filter { written.contains($0.value) }
        guard !taken.isEmpty else { return false }
        let kept = fixes.filter { !written.contains($0.value) }
        pending[table.name] = kept.isEmpty ? nil : kept
        pendingKeys[table.name]?.subtract(taken.map(\.value))
        try await tx.insertRows(into: "tributary_stamp", columns: ["table_name", "value", "origin_node", "origin_time"],
                                rows: taken.map { [.text(table.name), .text($0.value), .text($0.node), .datetime($0.time)] })
        return true
    }

    static func clearAhead(_ tx: any SQLExecutor) async throws {
        try await tx.execute("DELETE FROM pg_temp.tributary_stamp")
    }

    /// Writes the waiting stamps (before anything reads them: a conflict check, the commit).
    func flush(_ tx: any SQLExecutor) async throws {
        guard !pending.isEmpty else { return }
        // Both ends of the range: with one, a planner without statistics on the fast-growing
        // change log guessed a third of it and scanned it all (13 ms a statement at 50k rows).
        let upTo = try await tx.scalar("SELECT MAX(change_id) FROM tributary_change").int64 ?? after
        for (table, fixes) in pending.sorted(by: { $0.key < $1.key }) {
            if tx.syntax == .mysql {
                try await fixByChangeID(table: table, fixes: fixes, upTo: upTo, tx)
                continue
            }
            for chunk in fixes.chunked(Self.chunk) {
                try await tx.execute(dialect.fixOrigins(table: table, source: source, after: after, upTo: upTo, match: matches[table] ?? .uuid, stamps: chunk))
            }
        }
        pending = [:]
        pendingKeys = [:]
        after = upTo
    }

    /// MariaDB: the captured changes' ids read first and matched here, then one update by
    /// primary key. Joining the stamps to the changes in one statement compared every stamp
    /// with every change (2 million comparisons a batch, JSON extracted each time: half the
    /// apply time of a backlog at a MariaDB parent).
    func fixByChangeID(table: String, fixes: [OriginFix], upTo: Int64, _ tx: any SQLExecutor) async throws {
        let found = switch matches[table] ?? .uuid {
        case .uuid: SQL(trusted: "JSON_UNQUOTE(JSON_EXTRACT(COALESCE(new_row, old_row), '$.uuid'))")
        case .keyColumn(let column): SQL(trusted: "JSON_UNQUOTE(JSON_EXTRACT(pk, '$.\"\(column.replacingOccurrences(of: "'", with: "''"))\"'))")
        }
        let captured = try await tx.query("""
            SELECT change_id, \(found) AS u FROM tributary_change
            WHERE change_id > \(after) AND change_id <= \(upTo) AND table_name = \(table) AND source_node = \(source)
            """)
        var byValue: [String: [Int64]] = [:]
        for row in captured {
            if let id = row.int("change_id"), let value = row.string("u") { byValue[value, default: []].append(id) }
        }
        var assignments: [(id: Int64, node: String, time: String)] = []
        for fix in fixes {
            for id in byValue[fix.value] ?? [] { assignments.append((id, fix.node, fix.time)) }
        }
        for chunk in assignments.chunked(Self.chunk) {
            let nodes = SQL.join(chunk.map { "WHEN \($0.id) THEN \($0.node)" }, separator: " ")
            let times = SQL.join(chunk.map { "WHEN \($0.id) THEN \(SQLValue.datetime($0.time))" }, separator: " ")
            let ids = SQL.join(chunk.map { "\($0.id)" }, separator: ", ")
            try await tx.execute("""
                UPDATE tributary_change SET origin_node = CASE change_id \(nodes) END, origin_time = CASE change_id \(times) END
                WHERE change_id IN (\(ids))
                """)
        }
    }
}
