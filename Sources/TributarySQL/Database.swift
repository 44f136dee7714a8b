/// Runs statements with bound values on one database (or one transaction of it).
public protocol SQLExecutor: Sendable {
    var syntax: SQLSyntax { get }
    /// Runs a statement; returns the number of rows it changed.
    @discardableResult
    func execute(_ sql: SQL) async throws -> Int
    func query(_ sql: SQL) async throws -> [Row]
    /// Writes many rows into one table. By default multi-row INSERTs; PostgreSQL uses COPY
    /// (no statement to parse, no bind per value). Triggers and constraints apply either way.
    func insertRows(into table: String, columns: [String], rows: [[SQLValue]]) async throws
    /// Lines already in PostgreSQL's COPY text format into `table`; with `numbered`, each line
    /// gets its index (from 0) as the first of `columns`. PostgreSQL only.
    func copyLines(into table: String, columns: [String], lines: [String], numbered: Bool) async throws
}

extension SQLExecutor {
    public func insertRows(into table: String, columns: [String], rows: [[SQLValue]]) async throws {
        try await insertRowsByStatements(into: table, columns: columns, rows: rows)
    }

    public func copyLines(into table: String, columns: [String], lines: [String], numbered: Bool) async throws {
        throw DatabaseError(.unsupported, "COPY text lines are PostgreSQL's")
    }

    /// Multi-row INSERTs, each well under every dialect's limit on bound values per statement.
    public func insertRowsByStatements(into table: String, columns: [String], rows: [[SQLValue]]) async throws {
        let perStatement = max(1, 20_000 / max(1, columns.count))
        for chunk in stride(from: 0, to: rows.count, by: perStatement).map({ rows[$0..<min($0 + perStatement, rows.count)] }) {
            let tuples = SQL.join(chunk.map { "(\(SQL.join($0.map { "\($0)" }, separator: ", ")))" }, separator: ", ")
            try await execute("INSERT INTO \(ident: table) (\(idents: columns)) VALUES \(tuples)")
        }
    }
}

/// What the engine needs from one database, whatever its dialect.
///
/// Every multi-statement unit of work goes through `transaction`: the closure
/// is one database transaction, committed when it returns and rolled back when it throws.
public protocol Database: SQLExecutor {
    func transaction<T: Sendable>(_ body: @Sendable (any SQLExecutor) async throws -> T) async throws -> T
    /// Runs a script of several statements (schema files, DDL) as the database's own client would.
    func executeScript(_ script: String) async throws
    /// Reads tables, columns, keys and foreign keys from the live database.
    func introspect() async throws -> DatabaseSchema
    /// Runs `body` holding `lock` against every other process on this database, waiting
    /// for it (`waiting` is told how long, and may give up) while another process holds it.
    func withLock<T: Sendable>(_ lock: DatabaseLock, waiting: DatabaseLock.Waiting,
                               _ body: @Sendable () async throws -> T) async throws -> T
    func close() async
}

extension SQLExecutor {
    /// The first column of the first row, if any.
    public func scalar(_ sql: SQL) async throws -> SQLValue {
        try await query(sql).first?.values.first ?? .null
    }
}
