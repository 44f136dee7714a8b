import Foundation
import Logging
import TributaryCore
import TributarySQL

/// Reads new changes in order and records them in outgoing batches, per target node
/// and channel, in one transaction with the router's position and open gaps.
public struct Router: Sendable {
    let database: any Database
    let catalog: TableCatalog
    let batchSize: Int
    let gapTimeout: Double
    let logger: Logger
    /// Gaps already warned about as long open, so each is told once per process.
    let warned: Locked<Set<Int64>>

    public init(database: any Database, catalog: TableCatalog, batchSize: Int = 2_000, gapTimeout: Double = 600,
                logger: Logger = Logger(label: "tributary.router")) {
        self.init(database: database, catalog: catalog, batchSize: batchSize, gapTimeout: gapTimeout, logger: logger, warned: Locked([]))
    }

    init(database: any Database, catalog: TableCatalog, batchSize: Int, gapTimeout: Double, logger: Logger, warned: Locked<Set<Int64>>) {
        self.database = database
        self.catalog = catalog
        self.batchSize = batchSize
        self.gapTimeout = gapTimeout
        self.logger = logger
        self.warned = warned
    }

    /// One routing pass; returns how many changes it read.
    @discardableResult
    ///
    /// `links` is read inside the pass's transaction, after its rows: a registration that
    /// commits its child and the child's initial load while a pass runs is then either wholly
    /// in the pass or wholly in the next one (read before the rows, the load's rows could be
    /// read with a list of children that lacked the child, and routed to no one).
    public func route(links readLinks: @Sendable (any SQLExecutor) async throws -> Links, limit: Int = 10_000) async throws -> Int {
        let catalog = self.catalog, batchSize = self.batchSize, gapTimeout = self.gapTimeout
        // PostgreSQL's octet_length reads a stored value's size from its header; length counts characters.
        let size = SQL(trusted: database.syntax == .postgres ? "octet_length" : "LENGTH")
        // Asked before the pass's transaction (and so before its snapshot): a transaction that
        // could still fill a gap is either reported here or committed before the rows are read.
        let checkedAt = (try? await Self.clock(database)) ?? Date().timeIntervalSince1970
        let open = await Self.openTransactions(database)
        let (logger, warned) = (logger, warned)
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
            let links = try await readLinks(tx)
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
            // A gap's time is read after its rows were: whatever took the missing id began before it.
            let now = try await Self.clock(tx)
            tracker.observe(rows.compactMap { $0.int("change_id") }, now: now)
            for id in tracker.expire(open, checkedAt: checkedAt, now: now, timeout: gapTimeout) {
                logger.notice("change id \(id) never committed (its transaction ended without it): gap closed", metadata: ["open": "\(open)"])
            }
            for (id, seen) in tracker.gaps where now - seen >= gapTimeout && !warned.value.contains(id) {
                logger.warning("change id \(id) has been missing for \(Int(now - seen)) s: a transaction that took it is still open; waiting for it")
                warned.withLock { $0.insert(id) }
            }
            try await Self.saveTracker(tx, tracker)
            return rows.count
        }
    }

    /// Row images per batch at most: what bounds a node's memory, whatever `batch_size` says
    /// (a batch is held whole at each end, at about 30 times its images' size in all its
    /// forms; 2 MB is about 2,800 obs). A bulk marker counts as more, so it travels alone.
    static let maxBatchBytes: Int64 = 2 * 1024 * 1024

    /// The database's clock, in seconds since 1970: gaps and transactions are compared on it.
    static func clock(_ db: any SQLExecutor) async throws -> Double {
        let value: SQLValue
        switch db.syntax {
        case .postgres: value = try await db.scalar("SELECT EXTRACT(EPOCH FROM clock_timestamp())::float8")
        case .mysql: value = try await db.scalar("SELECT UNIX_TIMESTAMP(NOW(6))")
        case .sqlite: return Date().timeIntervalSince1970
        }
        return value.double ?? Date().timeIntervalSince1970
    }

    /// The writing transactions open on the database now, other than this connection's.
    /// SQLite has one writer at a time and the pass reads inside its own write lock: none.
    static func openTransactions(_ db: any Database) async -> OpenTransactions {
        do {
            switch db.syntax {
            case .sqlite: return .none
            case .postgres:
                // Sessions of other roles show no details without pg_read_all_stats: then unknown.
                guard let row = try await db.query("""
                    SELECT EXTRACT(EPOCH FROM MIN(xact_start) FILTER (WHERE backend_xid IS NOT NULL))::float8 AS oldest,
                           COUNT(*) FILTER (WHERE state IS NULL) AS hidden
                    FROM pg_stat_activity
                    WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()
                    """).first else { return .unknown }
                if (row.int("hidden") ?? 0) > 0 { return .unknown }
                return row["oldest"].double.map { .oldestStarted($0) } ?? .none
            case .mysql:
                // Server-wide (every database's transactions): later than needed, never too early.
                guard let row = try await db.query("""
                    SELECT UNIX_TIMESTAMP(MIN(trx_started)) AS oldest FROM information_schema.innodb_trx
                    WHERE trx_mysql_thread_id <> CONNECTION_ID()
                    """).first else { return .unknown }
                return row["oldest"].double.map { .oldestStarted($0) } ?? .none
            }
        } catch {
            return .unknown  // MariaDB without the PROCESS privilege: fall back to sync.gap_timeout
        }
    }

    static func loadTracker(_ db: any SQLExecutor, locking: Bool = true) async throws -> GapTracker {
        // The row lock keeps two routing passes (two processes on one database) from routing twice.
        let lock: SQL = db.syntax == .sqlite || !locking ? "" : " FOR UPDATE"
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
