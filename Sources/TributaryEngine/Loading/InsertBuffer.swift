import TributarySQL

/// Consecutive inserts into one table with the same columns, written as one multi-row
/// INSERT (PostgreSQL: one COPY, about a third faster for an obs batch). The loader flushes it before anything that must see those rows: a lookup,
/// an update or delete, a new loader mark (triggers read the mark when rows are written).
final class InsertBuffer {
    private var table: String?
    private var columns: [String] = []
    private var rows: [[SQLValue]] = []
    /// Stays well under every dialect's limit on bound values per statement.
    static let maxValues = 20_000
    /// COPY has no such limit; this only bounds the rows held at once.
    static let maxBulkValues = 200_000

    /// Told the table of every row added (the resolver's "found missing" goes stale).
    var onAdd: ((String) -> Void)?

    func add(_ table: String, columns: [String], values: [SQLValue], tx: any SQLExecutor) async throws {
        onAdd?(table)
        let limit = tx is any BulkInserting ? Self.maxBulkValues : Self.maxValues
        if self.table != table || self.columns != columns || (rows.count + 1) * columns.count > limit {
            try await flush(tx)
            self.table = table
            self.columns = columns
        }
        rows.append(values)
    }

    func flush(_ tx: any SQLExecutor) async throws {
        guard let table, !rows.isEmpty else { return }
        let pending = rows
        rows = []
        do {
            if let bulk = tx as? any BulkInserting {
                try await bulk.insertRows(into: table, columns: columns, rows: pending)
            } else {
                let tuples = SQL.join(pending.map { "(\(SQL.join($0.map { "\($0)" }, separator: ", ")))" }, separator: ", ")
                try await tx.execute("INSERT INTO \(ident: table) (\(idents: columns)) VALUES \(tuples)")
            }
        } catch {
            rows = pending
            throw error
        }
    }
}
