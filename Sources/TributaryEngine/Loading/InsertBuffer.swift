import TributarySQL

/// Consecutive inserts into one table with the same columns, written together
/// (`SQLExecutor.insertRows`: multi-row INSERTs, one COPY on PostgreSQL). The loader flushes
/// it before anything that must see those rows: a lookup, an update or delete, a new loader
/// mark (triggers read the mark when rows are written).
final class InsertBuffer {
    private var table: String?
    private var columns: [String] = []
    private var rows: [[SQLValue]] = []
    /// Bounds the values held at once.
    static let maxValues = 200_000

    /// Told the table of every row added (the resolver's "found missing" goes stale).
    var onAdd: ((String) -> Void)?
    /// Writes a run another way when it returns true (`ReplicaCopy`); otherwise `insertRows`.
    var writer: ((String, [String], [[SQLValue]], any SQLExecutor) async throws -> Bool)?

    func add(_ table: String, columns: [String], values: [SQLValue], tx: any SQLExecutor) async throws {
        onAdd?(table)
        if self.table != table || self.columns != columns || (rows.count + 1) * columns.count > Self.maxValues {
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
            if try await writer?(table, columns, pending, tx) != true {
                try await tx.insertRows(into: table, columns: columns, rows: pending)
            }
        } catch {
            rows = pending
            throw error
        }
    }
}
