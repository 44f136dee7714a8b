import TributaryCore
import TributarySQL

/// A person's decision of a conflict (`manual`) travels as a forced change: every node applies
/// it without a check and passes it on still forced, so the decision reaches the whole tree
/// even where the row already held the chosen values.
enum ForcedChanges {
    /// The key a captured change of this row is recorded by (nil when the row is not here).
    static func recordedKey(_ entry: TableCatalog.Entry, _ locator: [(String, SQLValue)]?, _ tx: any SQLExecutor) async throws -> String? {
        guard let locator else { return nil }
        let key = CaptureDialects.dialect(for: tx.syntax).rowKey(entry)
        return try await tx.query("SELECT \(key) AS k FROM \(ident: entry.name) t WHERE \(KeyResolver.whereClause(locator))")
            .first?.string("k")
    }

    /// Flags what the triggers captured of the row since `after`; when they captured nothing
    /// (the row held the chosen values already) writes the row into the log as a forced update.
    /// `origin` nil: the decision was taken here.
    static func flag(_ entry: TableCatalog.Entry, pk: String?, after: Int64, locator: [(String, SQLValue)]?,
                     origin: (source: String, node: String, time: String)?, tx: any SQLExecutor) async throws {
        if let pk {
            let flagged = try await tx.execute("""
                UPDATE tributary_change SET forced = 1
                WHERE change_id > \(after) AND table_name = \(entry.name) AND pk = \(pk) AND target_node IS NULL
                """)
            if flagged > 0 { return }
        }
        guard let locator else { return }
        try await reemit(entry, locator: locator, origin: origin, tx: tx)
    }

    /// The row as it is here, written into the log as a forced update.
    static func reemit(_ entry: TableCatalog.Entry, locator: [(String, SQLValue)], origin: (source: String, node: String, time: String)?,
                       tx: any SQLExecutor) async throws {
        let dialect = CaptureDialects.dialect(for: tx.syntax)
        let images = dialect.snapshotImages(of: entry.table, keyColumns: Capture.recordedKey(entry), alias: "t")
        let now = dialect.timestamp(Clock.nowText())
        let originTime = origin.map { dialect.timestamp($0.time) } ?? now
        try await tx.execute("""
            INSERT INTO tributary_change (table_name, operation, pk, new_row, old_row, captured_at, transaction_id,
              source_node, origin_node, origin_time, forced)
            SELECT \(entry.name), 'U', \(SQL(trusted: images.key)), \(SQL(trusted: images.row)), \(SQL(trusted: images.row)), \(now), NULL,
              \(origin?.source), \(origin?.node), \(originTime), 1
            FROM \(ident: entry.name) t WHERE \(KeyResolver.whereClause(locator))
            """)
    }

    /// A delete decided (here, or elsewhere with `origin`) of a row already gone here: its
    /// last delete, again, forced.
    static func reemitDeletion(changeID: Int64, origin: (source: String, node: String, time: String)? = nil, tx: any SQLExecutor) async throws {
        let dialect = CaptureDialects.dialect(for: tx.syntax)
        let stamp = dialect.timestamp(Clock.nowText())
        let originTime = origin.map { dialect.timestamp($0.time) } ?? stamp
        try await tx.execute("""
            INSERT INTO tributary_change (table_name, operation, pk, new_row, old_row, captured_at, transaction_id,
              source_node, origin_node, origin_time, forced)
            SELECT table_name, 'D', pk, NULL, old_row, \(stamp), NULL, \(origin?.source), \(origin?.node), \(originTime), 1
            FROM tributary_change WHERE change_id = \(changeID)
            """)
    }

    /// The origin of the last captured change of the row when it was a decision (forced), else nil.
    static func lastDecision(_ entry: TableCatalog.Entry, _ locator: [(String, SQLValue)], localNode: NodeID, tx: any SQLExecutor) async throws -> OriginStamp? {
        guard let row = try await tx.query("""
            SELECT origin_node, origin_time, forced FROM tributary_change
            WHERE table_name = \(entry.name) AND target_node IS NULL
              AND \(CaptureDialects.dialect(for: tx.syntax).rowKeyMatch(entry, locator))
            ORDER BY change_id DESC LIMIT 1
            """).first, (row.int("forced") ?? 0) != 0, let time = ColumnKind.datetime.normalize(row["origin_time"]).string else { return nil }
        return OriginStamp(time: time, node: row.string("origin_node") ?? localNode.rawValue)
    }

    /// Conflicts about the row still waiting here are settled by a decision taken elsewhere.
    static func closePending(table: String, key: WireKey, tx: any SQLExecutor) async throws {
        try await tx.execute("""
            UPDATE tributary_conflict SET decision = 'decided-elsewhere', resolved_at = \(SQLValue.datetime(Clock.nowText()))
            WHERE table_name = \(table) AND sync_key = \(WireValue.key(key).description) AND decision = 'pending'
            """)
    }
}
