/// Runs statements with bound values on one database (or one transaction of it).
public protocol SQLExecutor: Sendable {
    var syntax: SQLSyntax { get }
    /// Runs a statement; returns the number of rows it changed.
    @discardableResult
    func execute(_ sql: SQL) async throws -> Int
    func query(_ sql: SQL) async throws -> [Row]
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
    func close() async
}

extension SQLExecutor {
    /// The first column of the first row, if any.
    public func scalar(_ sql: SQL) async throws -> SQLValue {
        try await query(sql).first?.values.first ?? .null
    }
}

/// A dialect with a faster way than a multi-row INSERT to write many rows into one table
/// (PostgreSQL's COPY: no statement to parse, no bind per value). Triggers and constraints
/// apply as for INSERT.
public protocol BulkInserting: SQLExecutor {
    func insertRows(into table: String, columns: [String], rows: [[SQLValue]]) async throws
}
