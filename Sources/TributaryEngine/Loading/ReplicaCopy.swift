import TributarySQL

/// PostgreSQL, where the node's role may set `session_replication_role`: a run of new rows is
/// copied as a replica session, so PostgreSQL's per-row foreign-key triggers do not fire
/// (measured on 100,000 obs: 2.2 s of a 4.1 s COPY). Each declared foreign key is then checked,
/// and the rows it points at locked as its trigger would have locked them (`FOR KEY SHARE`),
/// by one statement per column. The capture triggers are `ENABLE ALWAYS`, so the change log is
/// written as before. A table with any other trigger (the site's own, a deferrable unique
/// check) is copied the ordinary way, since a replica session would skip that trigger too.
final class ReplicaCopy {
    /// Rows written this way, for the node's counter.
    let counter: Locked<Int>
    /// The tables whose triggers do not allow it: read once per batch.
    private var excluded: Set<String>?
    /// Partitioned tables: a key pointing at one is checked against all its partitions.
    private var partitioned: Set<String> = []
    /// Values per checking statement.
    static let chunk = 1_000

    init(counter: Locked<Int>) { self.counter = counter }

    struct KeyCheck: Equatable {
        let constraint: String
        let column: String
        let target: String
        let targetColumn: String
        let values: [Int64]
    }

    /// Writes the rows and checks their foreign keys; false, with nothing written, when the
    /// table or the rows' values do not allow it (the caller then copies the ordinary way).
    func write(_ table: TableSchema, columns: [String], rows: [[SQLValue]], tx: any SQLExecutor) async throws -> Bool {
        guard tx.syntax == .postgres, let checks = Self.checks(table, columns: columns, rows: rows) else { return false }
        if excluded == nil {
            excluded = try await Self.tablesWithOtherTriggers(tx)
            partitioned = try await Self.partitionedTables(tx)
        }
        guard excluded?.contains(table.name) == false else { return false }
        // Local to the transaction: a failure rolls it back with the rest.
        _ = try await tx.query("SELECT set_config('session_replication_role', 'replica', true)")
        try await tx.insertRows(into: table.name, columns: columns, rows: rows)
        _ = try await tx.query("SELECT set_config('session_replication_role', 'origin', true)")
        for check in checks { try await Self.verify(check, table: table.name, partitioned: partitioned.contains(check.target), tx) }
        counter.withLock { $0 += rows.count }
        return true
    }

    /// The foreign keys to check, one per single-column key; nil when a key has more than one
    /// column, a key column is left to its default, or a value is not an integer.
    static func checks(_ table: TableSchema, columns: [String], rows: [[SQLValue]]) -> [KeyCheck]? {
        var result: [KeyCheck] = []
        for key in table.foreignKeys {
            guard key.columns.count == 1, key.referencedColumns.count == 1,
                  let index = columns.firstIndex(of: key.columns[0]) else { return nil }
            var values = Set<Int64>()
            for row in rows {
                switch row[index] {
                case .null: continue
                case .integer(let value): values.insert(value)
                default: return nil
                }
            }
            if values.isEmpty { continue }
            result.append(KeyCheck(constraint: key.name ?? key.columns[0], column: key.columns[0], target: key.referencedTable,
                                   targetColumn: key.referencedColumns[0], values: values.sorted()))
        }
        return result
    }

    /// Finds and locks every row the values point at, as the key's trigger does for each row
    /// (in the table itself, as PostgreSQL's check does, or in any partition of a partitioned one).
    static func verify(_ check: KeyCheck, table: String, partitioned: Bool, _ tx: any SQLExecutor) async throws {
        let only: SQL = partitioned ? "" : "ONLY "
        for chunk in check.values.chunked(chunk) {
            let list = SQL.join(chunk.map { "\($0)" }, separator: ", ")
            let found = try await tx.query("""
                SELECT \(ident: check.targetColumn) AS v FROM \(only)\(ident: check.target)
                WHERE \(ident: check.targetColumn) IN (\(list)) FOR KEY SHARE
                """)
            let present = Set(found.compactMap { $0.int("v") })
            if let missing = chunk.first(where: { !present.contains($0) }) {
                throw DatabaseError(.statement, "insert into \(table) violates foreign key \(check.constraint): \(check.column) = \(missing) is not present in \(check.target)")
            }
        }
    }

    /// The tables with an enabled trigger other than a foreign-key check or Tributary's own
    /// capture triggers set to fire in replica sessions too.
    static func tablesWithOtherTriggers(_ tx: any SQLExecutor) async throws -> Set<String> {
        let rows = try await tx.query("""
            SELECT DISTINCT c.relname AS name FROM pg_trigger t
            JOIN pg_class c ON c.oid = t.tgrelid
            JOIN pg_namespace s ON s.oid = c.relnamespace
            LEFT JOIN pg_constraint k ON k.oid = t.tgconstraint
            WHERE s.nspname = current_schema()
              AND NOT (t.tgname IN ('tributary_capture', 'tributary_capture_insert') AND t.tgenabled = 'A')
              AND k.contype IS DISTINCT FROM 'f' AND t.tgenabled <> 'D'
            """)
        return Set(rows.compactMap { $0.string("name") })
    }

    static func partitionedTables(_ tx: any SQLExecutor) async throws -> Set<String> {
        let rows = try await tx.query("""
            SELECT c.relname AS name FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
            WHERE c.relkind = 'p' AND s.nspname = current_schema()
            """)
        return Set(rows.compactMap { $0.string("name") })
    }

    /// Whether this database lets the node's role copy as a replica session (superuser, or
    /// `GRANT SET ON PARAMETER session_replication_role`).
    static func permitted(_ database: any Database) async -> Bool {
        guard database.syntax == .postgres else { return false }
        return (try? await database.transaction { tx in try await BulkLoader.replicaSession(tx) }) ?? false
    }
}
