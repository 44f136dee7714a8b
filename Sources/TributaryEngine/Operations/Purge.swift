import Foundation
import Logging
import TributaryCore
import TributarySQL

/// Removes what Tributary no longer needs once it is older than `sync.retention`, in small
/// transactions so that capture and loading go on meanwhile:
/// - acknowledged outgoing batches and their change lists;
/// - changes routed for one node (snapshots, resends) that every batch holding them delivered;
/// - captured changes that every batch holding them delivered and that no longer carry the
///   last stamp of any column of their row (conflict checks compare with that stamp): a row's
///   changes are compacted to, per column, the last one that set it; an insert still needed
///   for its stamp keeps its stamp and drops its row image;
/// - applied incoming batches, but the last of each peer and channel;
/// - resolved incoming errors and decided conflicts.
/// Kept whatever their age: deletes and people's decisions (forced changes), which later
/// changes are checked against (an update of a row deleted here, a decision older than one
/// taken here); anything not yet routed or still in a pending batch.
public struct Purge: Sendable {
    public struct Report: Sendable, Codable, Equatable {
        public var changes = 0
        public var imagesDropped = 0
        public var outgoingBatches = 0
        public var incomingBatches = 0
        public var errors = 0
        public var conflicts = 0

        enum CodingKeys: String, CodingKey {
            case changes, imagesDropped = "images_dropped", outgoingBatches = "outgoing_batches", incomingBatches = "incoming_batches"
            case errors, conflicts
        }

        public var total: Int { changes + outgoingBatches + incomingBatches + errors + conflicts }
        public var description: String {
            "\(changes) change(s) (\(imagesDropped) more kept only for their stamps), \(outgoingBatches) outgoing and \(incomingBatches) incoming batch(es), "
                + "\(errors) resolved error(s), \(conflicts) decided conflict(s)"
        }
    }

    let database: any Database
    let catalog: TableCatalog
    /// Rows per transaction.
    var chunk = 1_000

    public init(database: any Database, catalog: TableCatalog) {
        self.database = database
        self.catalog = catalog
    }

    /// Purges what is older than `olderThan` seconds.
    public func run(olderThan: Double, now: Date = Date()) async throws -> Report {
        let cutoff = Clock.nowText(now.addingTimeInterval(-olderThan))
        let dialect = CaptureDialects.dialect(for: database.syntax)
        let before = dialect.timestamp(cutoff)
        var report = Report()
        report.outgoingBatches = try await purgeOutgoingBatches(before: before)
        let routedThrough = try await self.routedThrough()
        try await compactChanges(before: before, through: routedThrough, report: &report)
        report.incomingBatches = try await deleteInChunks("""
            SELECT source_node, batch_id FROM tributary_incoming_batch i
            WHERE applied_at < \(before)
              AND batch_id < (SELECT MAX(batch_id) FROM tributary_incoming_batch l WHERE l.source_node = i.source_node AND l.channel = i.channel)
            """, table: "tributary_incoming_batch", key: ["source_node", "batch_id"])
        report.errors = try await deleteInChunks("SELECT error_id FROM tributary_incoming_error WHERE resolved = \(true) AND occurred_at < \(before)",
                                                 table: "tributary_incoming_error", key: ["error_id"])
        report.conflicts = try await deleteInChunks("""
            SELECT conflict_id FROM tributary_conflict WHERE decision <> 'pending' AND resolved_at IS NOT NULL AND resolved_at < \(before)
            """, table: "tributary_conflict", key: ["conflict_id"])
        return report
    }

    /// The last change id the router has passed with no gap below it: later ones may still be routed.
    func routedThrough() async throws -> Int64 {
        guard let row = try await database.query("SELECT last_change_id, gaps FROM tributary_router WHERE id = 1").first else { return 0 }
        let last = row.int("last_change_id") ?? 0
        let gaps = (try? JSONDecoder().decode([String: Double].self, from: Data((row.string("gaps") ?? "{}").utf8))) ?? [:]
        let lowestGap = gaps.keys.compactMap { Int64($0) }.min()
        return min(last, (lowestGap ?? Int64.max) - 1)
    }

    func purgeOutgoingBatches(before: SQL) async throws -> Int {
        var purged = 0
        while true {
            let batches = try await database.query("""
                SELECT batch_id FROM tributary_outgoing_batch WHERE status = 'acked' AND acked_at < \(before) ORDER BY batch_id LIMIT \(chunk)
                """).compactMap { $0.int("batch_id") }
            guard !batches.isEmpty else { return purged }
            let list = SQL.join(batches.map { "\($0)" }, separator: ", ")
            try await database.transaction { tx in
                try await tx.execute("DELETE FROM tributary_outgoing_change WHERE batch_id IN (\(list))")
                try await tx.execute("DELETE FROM tributary_outgoing_batch WHERE batch_id IN (\(list))")
            }
            purged += batches.count
        }
    }

    /// A change still in a batch not acknowledged: `c` is the change's alias.
    static let inPendingBatch: SQL = """
        EXISTS (SELECT 1 FROM tributary_outgoing_change oc JOIN tributary_outgoing_batch b ON b.batch_id = oc.batch_id
                WHERE oc.change_id = c.change_id AND b.status <> 'acked')
        """

    func compactChanges(before: SQL, through routedThrough: Int64, report: inout Report) async throws {
        // Routed for one node: nothing is checked against them once delivered.
        report.changes += try await deleteInChunks("""
            SELECT change_id FROM tributary_change c
            WHERE target_node IS NOT NULL AND change_id <= \(routedThrough) AND captured_at < \(before) AND NOT \(Self.inPendingBatch)
            """, table: "tributary_change", key: ["change_id"])
        var after: Int64 = 0
        while true {
            let candidates = try await database.query("""
                SELECT change_id, table_name, pk, operation, new_row, old_row FROM tributary_change c
                WHERE change_id > \(after) AND change_id <= \(routedThrough) AND target_node IS NULL AND forced = 0
                  AND operation IN ('I', 'U') AND captured_at < \(before) AND NOT \(Self.inPendingBatch)
                ORDER BY change_id LIMIT \(chunk)
                """)
            guard let last = candidates.last?.int("change_id") else { return }
            after = last
            let plan = try await compactionPlan(candidates)
            try await database.transaction { tx in
                for ids in plan.delete.chunked(500) where !ids.isEmpty {
                    try await tx.execute("DELETE FROM tributary_change WHERE change_id IN (\(SQL.join(ids.map { "\($0)" }, separator: ", ")))")
                }
                for ids in plan.dropImage.chunked(500) where !ids.isEmpty {
                    try await tx.execute("UPDATE tributary_change SET new_row = NULL WHERE change_id IN (\(SQL.join(ids.map { "\($0)" }, separator: ", ")))")
                }
            }
            report.changes += plan.delete.count
            report.imagesDropped += plan.dropImage.count
        }
    }

    /// Which candidates a later change of the same row covers column for column (deleted), and
    /// which inserts are still some column's last stamp (kept, without their row image).
    func compactionPlan(_ candidates: [Row]) async throws -> (delete: [Int64], dropImage: [Int64]) {
        var byTable: [String: Set<String>] = [:]
        for row in candidates {
            if let table = row.string("table_name"), let pk = row.string("pk") { byTable[table, default: []].insert(pk) }
        }
        let first = candidates.first?.int("change_id") ?? 0
        // Every change of those rows from the first candidate on, newest first.
        var later: [String: [Row]] = [:]
        for (table, keys) in byTable {
            for part in Array(keys).sorted().chunked(200) {
                let list = SQL.join(part.map { "\($0)" }, separator: ", ")
                let rows = try await database.query("""
                    SELECT change_id, pk, operation, new_row, old_row FROM tributary_change
                    WHERE table_name = \(table) AND pk IN (\(list)) AND target_node IS NULL AND change_id >= \(first)
                    ORDER BY change_id DESC
                    """)
                for row in rows { later[table + "\u{1}" + (row.string("pk") ?? ""), default: []].append(row) }
            }
        }
        var delete: [Int64] = [], dropImage: [Int64] = []
        for candidate in candidates {
            guard let id = candidate.int("change_id"), let table = candidate.string("table_name"), let pk = candidate.string("pk") else { continue }
            let newer = (later[table + "\u{1}" + pk] ?? []).filter { ($0.int("change_id") ?? 0) > id }
            var covered = Set<String>()
            var coversAll = false
            for change in newer {
                guard let set = Self.columnsSet(by: change) else { coversAll = true; break }
                covered.formUnion(set)
            }
            if coversAll { delete.append(id); continue }
            if let own = Self.columnsSet(by: candidate), own.isSubset(of: covered) { delete.append(id); continue }
            if candidate.string("operation") == "I", candidate.string("new_row") != nil { dropImage.append(id) }
        }
        return (delete, dropImage)
    }

    /// The columns a captured change set; nil for every column (an insert or a delete).
    static func columnsSet(by change: Row) -> Set<String>? {
        guard change.string("operation") == "U" else { return nil }
        let new = change.string("new_row").flatMap { try? ImageDecoding.image($0) } ?? [:]
        let old = change.string("old_row").flatMap { try? ImageDecoding.image($0) } ?? [:]
        return Set(new.keys.filter { new[$0] != old[$0] })
    }

    /// Deletes the rows `select` finds, `chunk` at a time, each chunk in its own transaction.
    func deleteInChunks(_ select: SQL, table: String, key: [String]) async throws -> Int {
        var deleted = 0
        while true {
            let rows = try await database.query(select + " LIMIT \(chunk)")
            guard !rows.isEmpty else { return deleted }
            try await database.transaction { tx in
                for row in rows {
                    let match = SQL.join(key.map { "\(ident: $0) = \(row[$0])" }, separator: " AND ")
                    try await tx.execute("DELETE FROM \(ident: table) WHERE \(match)")
                }
            }
            deleted += rows.count
            if rows.count < chunk { return deleted }
        }
    }
}
