import TributaryCore
import TributarySQL

/// An initial load or reload: every row of the chosen tables written into the change log
/// as an insert addressed to one node, in reference order, in one transaction. From there
/// it travels the ordinary way (routing, batches, acks), so it is streamed in batches,
/// survives restarts and resumes where it stopped; rows are copied by the database itself
/// (on PostgreSQL, tables that qualify go as bulk copies instead of one change per row).
public struct Snapshot: Sendable {
    let database: any Database
    let catalog: TableCatalog
    /// Tables with fewer rows go row by row even where they could go in bulk.
    let bulkMinimumRows: Int
    /// Rows per bulk marker (at most; `BulkSnapshot.chunkBytes` may make it fewer).
    let bulkBatchRows: Int

    public init(database: any Database, catalog: TableCatalog, bulkMinimumRows: Int, bulkBatchRows: Int) {
        self.database = database
        self.catalog = catalog
        self.bulkMinimumRows = bulkMinimumRows
        self.bulkBatchRows = bulkBatchRows
    }

    /// The synced tables that flow towards `direction` (down: to a child; up: to the parent)
    /// and take part in initial loads, in reference order; `only` narrows them (a reload).
    public func tables(flowing direction: Direction, only: Set<String>? = nil, initialLoad: Bool = true) -> [TableCatalog.Entry] {
        let chosen = catalog.synced.filter { entry in
            (direction == .down ? entry.setting.direction.flowsDown : entry.setting.direction.flowsUp)
                && (!initialLoad || entry.setting.initialLoad)
                && (only?.contains(entry.name) ?? true)
        }
        return LoadOrder.sorted(Self.references(among: chosen)).compactMap { catalog[$0] }
    }

    static func references(among tables: [TableCatalog.Entry]) -> [String: Set<String>] {
        let names = Set(tables.map(\.name))
        var references: [String: Set<String>] = [:]
        for entry in tables {
            references[entry.name] = Set(entry.references.map(\.targetTable).filter { names.contains($0) })
        }
        return references
    }

    /// The same tables, with each reference cycle broken where the fewest rows wait (counted here).
    func weighted(_ tables: [TableCatalog.Entry], _ tx: any SQLExecutor) async throws -> [TableCatalog.Entry] {
        let references = Self.references(among: tables)
        var sizes: [String: Int] = [:]
        for table in LoadOrder.cyclic(references) {
            sizes[table] = Int(try await tx.scalar("SELECT COUNT(*) FROM \(ident: table)").int64 ?? 0)
        }
        guard !sizes.isEmpty else { return tables }
        return LoadOrder.sorted(references, sizes: sizes).compactMap { catalog[$0] }
    }

    /// Writes the snapshot rows in a transaction of their own; returns how many.
    @discardableResult
    public func enqueue(_ tables: [TableCatalog.Entry], for target: NodeID) async throws -> Int {
        try await database.transaction { tx in try await enqueue(tables, for: target, in: tx) }
    }

    /// How a snapshot is written: whole rows for a node, or only the keys of the rows here now
    /// (held back, sent later as they are then), or the rows whose keys were held.
    public enum Mode: Sendable {
        case rows
        case holdKeys
        case heldRows
    }

    /// The `target_node` of held keys: no node has that id, so routing passes over them.
    static func holdTag(_ target: NodeID) -> String { "hold:" + target.rawValue }

    /// Whether a table holds at least `count` rows (reading no more than that).
    func hasRows(_ table: String, atLeast count: Int, _ tx: any SQLExecutor) async throws -> Bool {
        guard count > 1 else { return true }
        return try await tx.scalar("SELECT COUNT(*) FROM (SELECT 1 FROM \(ident: table) LIMIT \(count)) x").int64 ?? 0 >= Int64(count)
    }

    /// Writes the snapshot rows inside the caller's transaction; returns how many.
    @discardableResult
    public func enqueue(_ tables: [TableCatalog.Entry], for target: NodeID, in tx: any SQLExecutor, mode: Mode = .rows) async throws -> Int {
        let dialect = CaptureDialects.dialect(for: database.syntax)
        let now = dialect.timestamp(Clock.nowText())
        let hold = Self.holdTag(target)
        var total = 0
        // Compiling these one-off statements (the copies, the markers) cost more than it saved.
        if tx.syntax == .postgres { try await tx.execute("SET LOCAL jit = off") }
        for entry in mode == .holdKeys ? tables : try await weighted(tables, tx) {
            // Whole tables to a node go in bulk where they can (PostgreSQL; see `BulkSnapshot`).
            if mode == .rows, tx.syntax == .postgres, let plan = BulkPlan.make(entry, catalog: catalog),
               try await hasRows(entry.name, atLeast: bulkMinimumRows, tx),
               let rows = try await BulkSnapshot.enqueue(plan, table: entry.table, for: target, now: now, chunk: bulkBatchRows, in: tx) {
                total += rows
                continue
            }
            let keyColumns = Capture.recordedKey(entry)
            let images = dialect.snapshotImages(of: entry.table, keyColumns: keyColumns, alias: "t")
            let order = SQL(trusted: keyColumns.map { "t." + database.syntax.quote($0) }.joined(separator: ", "))
            let key = SQL(trusted: images.key)
            let row: SQL = mode == .holdKeys ? "NULL" : SQL(trusted: images.row)
            let addressed = mode == .holdKeys ? hold : target.rawValue
            let filter: SQL = mode == .heldRows
                ? "WHERE \(key) IN (SELECT h.pk FROM tributary_change h WHERE h.target_node = \(hold) AND h.table_name = \(entry.name))" : ""
            total += try await tx.execute("""
                INSERT INTO tributary_change (table_name, operation, pk, new_row, old_row, captured_at, transaction_id,
                  source_node, origin_node, origin_time, target_node)
                SELECT \(entry.name), 'I', \(key), \(row), NULL, \(now), NULL, NULL, NULL, \(now), \(addressed)
                FROM \(ident: entry.name) t \(filter) ORDER BY \(order)
                """)
        }
        if mode == .heldRows { try await tx.execute("DELETE FROM tributary_change WHERE target_node = \(hold)") }
        return total
    }
}
