import Foundation
import TributaryCore
import TributarySQL

/// Reads new changes in order and records them in outgoing batches, per target node
/// and channel, in one transaction with the router's position and open gaps.
public struct Router: Sendable {
    let database: any Database
    let catalog: TableCatalog
    let batchSize: Int
    let gapTimeout: Double

    public init(database: any Database, catalog: TableCatalog, batchSize: Int = 2_000, gapTimeout: Double = 600) {
        self.database = database
        self.catalog = catalog
        self.batchSize = batchSize
        self.gapTimeout = gapTimeout
    }

    /// One routing pass; returns how many changes it read.
    @discardableResult
    public func route(links: Links, limit: Int = 10_000) async throws -> Int {
        let catalog = self.catalog, batchSize = self.batchSize, gapTimeout = self.gapTimeout
        // PostgreSQL's octet_length reads a stored value's size from its header; length counts characters.
        let size = SQL(trusted: database.syntax == .postgres ? "octet_length" : "LENGTH")
        return try await database.transaction { tx in
            var tracker = try await Self.loadTracker(tx)
            let gapList = tracker.gaps.keys.sorted()
            let gapCondition: SQL = gapList.isEmpty ? "" : " OR change_id IN (\(SQL.join(gapList.map { "\($0)" }, separator: ", ")))"
            // Both ends of the range: with one, a planner without statistics on the fast-growing
            // log scanned all of it (24 ms a pass at 30,000 rows).
            let end = try await tx.scalar("SELECT MAX(change_id) FROM tributary_change").int64 ?? tracker.lastID
            let rows = try await tx.query("""
                SELECT change_id, table_name, source_node, target_node,
                       CASE WHEN operation = \(BulkSnapshot.markerOperation) THEN \(Self.maxBatchBytes + 1)
                            ELSE COALESCE(\(size)(new_row), 0) + COALESCE(\(size)(old_row), 0) END AS image_size FROM tributary_change
                WHERE (change_id > \(tracker.lastID) AND change_id <= \(end))\(gapCondition) ORDER BY change_id LIMIT \(limit)
                """)
            var groups: [String: (target: NodeID, channel: String, ids: [Int64], sizes: [Int64])] = [:]
            var order: [String] = []
            for row in rows {
                guard let id = row.int("change_id"), let table = row.string("table_name"), let setting = catalog[table]?.setting else { continue }
                let source = row.string("source_node").map { NodeID($0) }
                let addressed = row.string("target_node").map { NodeID($0) }
                for target in targets(source: source, setting: setting, links: links, addressedTo: addressed).sorted(by: { $0.rawValue < $1.rawValue }) {
                    let group = target.rawValue + "\u{0}" + setting.channel
                    if groups[group] == nil { groups[group] = (target, setting.channel, [], []); order.append(group) }
                    groups[group]!.ids.append(id)
                    groups[group]!.sizes.append(row.int("image_size") ?? 0)
                }
            }
            for group in order {
                let (target, channel, ids, sizes) = groups[group]!
                for chunk in BatchCutter.cut(ids, sizes: sizes, maxCount: batchSize, maxBytes: Self.maxBatchBytes) {
                    try await OutgoingBatches.create(tx, target: target, channel: channel, changeIDs: chunk)
                }
            }
            tracker.observe(rows.compactMap { $0.int("change_id") }, now: Date().timeIntervalSince1970, timeout: gapTimeout)
            try await Self.saveTracker(tx, tracker)
            return rows.count
        }
    }

    /// Row images per batch at most: what bounds a node's memory, whatever `batch_size` says
    /// (a batch is held whole at each end, at about 30 times its images' size in all its
    /// forms; 2 MB is about 2,800 obs). A bulk marker counts as more, so it travels alone.
    static let maxBatchBytes: Int64 = 2 * 1024 * 1024

    static func loadTracker(_ db: any SQLExecutor) async throws -> GapTracker {
        // The row lock keeps two routing passes (two processes on one database) from routing twice.
        let lock: SQL = db.syntax == .sqlite ? "" : " FOR UPDATE"
        guard let row = try await db.query("SELECT last_change_id, gaps FROM tributary_router WHERE id = 1" + lock).first else { return GapTracker() }
        let gaps = (try? JSONDecoder().decode([String: Double].self, from: Data((row.string("gaps") ?? "{}").utf8))) ?? [:]
        return GapTracker(lastID: row.int("last_change_id") ?? 0,
                          gaps: Dictionary(uniqueKeysWithValues: gaps.compactMap { k, v in Int64(k).map { ($0, v) } }))
    }

    static func saveTracker(_ db: any SQLExecutor, _ tracker: GapTracker) async throws {
        let gaps = String(decoding: try JSONEncoder().encode(Dictionary(uniqueKeysWithValues: tracker.gaps.map { (String($0.key), $0.value) })), as: UTF8.self)
        try await db.execute("UPDATE tributary_router SET last_change_id = \(tracker.lastID), gaps = \(gaps) WHERE id = 1")
    }
}
