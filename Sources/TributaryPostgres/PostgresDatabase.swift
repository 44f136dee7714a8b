import Logging
import NIOCore
import PostgresNIO
import TributarySQL

/// PostgreSQL through postgres-nio's connection pool.
public final class PostgresDatabase: Database {
    public let syntax = SQLSyntax.postgres
    let client: PostgresClient
    let logger: Logger
    /// The pool's own run loop; it lives exactly as long as this object is open.
    let poolRunner: Task<Void, Never>

    public init(_ endpoint: DatabaseURL.Endpoint, logger: Logger) async throws {
        let configuration = PostgresClient.Configuration(
            host: endpoint.host, port: endpoint.port, username: endpoint.user,
            password: endpoint.password, database: endpoint.database, tls: .disable)
        // The pool warns when leased from before its run loop has started, which is the
        // case for the first query here; its real failures surface as thrown errors.
        var poolLogger = logger
        poolLogger.logLevel = max(logger.logLevel, .error)
        let client = PostgresClient(configuration: configuration, backgroundLogger: poolLogger)
        self.client = client
        self.logger = logger
        poolRunner = Task { await client.run() }
        do {
            _ = try await query("SELECT 1")
        } catch {
            poolRunner.cancel()
            throw DatabaseError(.connection, "cannot connect to PostgreSQL at \(endpoint.host):\(endpoint.port)/\(endpoint.database): \(error)")
        }
    }

    public func execute(_ sql: SQL) async throws -> Int {
        try await client.withConnection { try await PostgresSession(connection: $0, logger: logger).execute(sql) }
    }

    public func query(_ sql: SQL) async throws -> [Row] {
        try await client.withConnection { try await PostgresSession(connection: $0, logger: logger).query(sql) }
    }

    public func transaction<T: Sendable>(_ body: @Sendable (any SQLExecutor) async throws -> T) async throws -> T {
        try await client.withConnection { connection in
            let session = PostgresSession(connection: connection, logger: logger)
            try await session.execute("BEGIN")
            do {
                let result = try await body(session)
                try await session.execute("COMMIT")
                return result
            } catch {
                _ = try? await session.execute("ROLLBACK")
                throw error
            }
        }
    }

    public func executeScript(_ script: String) async throws {
        try await client.withConnection { connection in
            let session = PostgresSession(connection: connection, logger: logger)
            for statement in SQLScript.statements(script) {
                try await session.execute(SQL(trusted: statement))
            }
        }
    }

    public func introspect() async throws -> DatabaseSchema {
        try await PostgresIntrospection.read(self)
    }

    /// A session advisory lock (scoped to this database by PostgreSQL) on a connection leased
    /// for as long as `body` runs; `body`'s own statements use the pool's other connections.
    public func withLock<T: Sendable>(_ lock: DatabaseLock, waiting: DatabaseLock.Waiting,
                                      _ body: @Sendable () async throws -> T) async throws -> T {
        try await client.withConnection { connection in
            let session = PostgresSession(connection: connection, logger: logger)
            let key: SQL = "hashtext('tributary'), hashtext(\(lock.name))"
            try await DatabaseLock.poll(waiting: waiting) {
                try await session.scalar("SELECT pg_try_advisory_lock(\(key))") == .bool(true)
            }
            do {
                let result = try await body()
                _ = try await session.execute("SELECT pg_advisory_unlock(\(key))")
                return result
            } catch {
                _ = try? await session.execute("SELECT pg_advisory_unlock(\(key))")
                throw error
            }
        }
    }

    public func close() async {
        poolRunner.cancel()
        await poolRunner.value
    }
}

/// Statements on one connection (inside or outside a transaction).
struct PostgresSession: SQLExecutor {
    let connection: PostgresConnection
    let logger: Logger
    var syntax: SQLSyntax { .postgres }

    @discardableResult
    func execute(_ sql: SQL) async throws -> Int {
        try await run(sql).metadata.rows ?? 0
    }

    func query(_ sql: SQL) async throws -> [Row] {
        let result = try await run(sql)
        var rows: [Row] = []
        for row in result {
            var columns: [String] = []
            var values: [SQLValue] = []
            for cell in row {
                columns.append(cell.columnName)
                values.append(try PostgresCellDecoder.decode(cell))
            }
            rows.append(Row(columns: columns, values: values))
        }
        return rows
    }

    func insertRows(into table: String, columns: [String], rows: [[SQLValue]]) async throws {
        guard !rows.isEmpty else { return }
        // postgres-nio quotes the names without doubling quotes inside them: such a name takes the INSERT path.
        if table.contains("\"") || columns.contains(where: { $0.contains("\"") }) {
            return try await insertRowsByStatements(into: table, columns: columns, rows: rows)
        }
        var buffer = ByteBuffer()
        buffer.reserveCapacity(rows.count * columns.count * 12)
        PostgresCopyText.append(rows, to: &buffer)
        try await copy(buffer, into: table, columns: columns)
    }

    func copyLines(into table: String, columns: [String], lines: [String], numbered: Bool) async throws {
        guard !lines.isEmpty else { return }
        guard !table.contains("\""), !columns.contains(where: { $0.contains("\"") }) else {
            throw DatabaseError(.unsupported, "COPY of lines into a name holding a double quote")
        }
        var buffer = ByteBuffer()
        buffer.reserveCapacity(lines.reduce(0) { $0 + $1.utf8.count + 8 })
        for (i, line) in lines.enumerated() {
            if numbered {
                buffer.writeString(String(i))
                buffer.writeInteger(UInt8(ascii: "\t"))
            }
            buffer.writeString(line)
            buffer.writeInteger(UInt8(ascii: "\n"))
        }
        try await copy(buffer, into: table, columns: columns)
    }

    /// COPY text already in a buffer into `table`.
    private func copy(_ buffer: ByteBuffer, into table: String, columns: [String]) async throws {
        do {
            try await connection.copyFrom(table: table, columns: columns, logger: logger) { writer in try await writer.write(buffer) }
        } catch let error as PSQLError {
            throw DatabaseError(.statement, Self.message(error), sql: "COPY \(table) (\(columns.joined(separator: ", "))) FROM STDIN")
        }
    }

    private func run(_ sql: SQL) async throws -> PostgresQueryResult {
        let (text, values) = sql.render(.postgres)
        var binds = PostgresBindings(capacity: values.count)
        for (value, isKey) in zip(values, sql.keyBinds) {
            if value == .null { binds.appendNull() } else { binds.append(PostgresBind(value: value, untyped: isKey)) }
        }
        let future: EventLoopFuture<PostgresQueryResult> = connection.query(PostgresQuery(unsafeSQL: text, binds: binds), logger: logger)
        do {
            return try await future.get()
        } catch let error as PSQLError {
            throw DatabaseError(.statement, Self.message(error), sql: text)
        }
    }

    static func message(_ error: PSQLError) -> String {
        if let fields = error.serverInfo {
            let text = fields[.message] ?? "\(error)"
            let detail = fields[.detail].map { " (\($0))" } ?? ""
            return "PostgreSQL \(fields[.sqlState] ?? ""): \(text)\(detail)"
        }
        return "PostgreSQL: \(error.code)"
    }
}
