import Foundation
import Glibc
import GRDB
#if canImport(GRDBSQLite)
import GRDBSQLite
#else
import SQLite3
#endif
import TributarySQL

/// SQLite through GRDB: one serialized connection in WAL mode with foreign keys on.
///
/// GRDB's own transaction closures are synchronous; the engine's are async (the same
/// closure runs against PostgreSQL), so a transaction here is BEGIN IMMEDIATE … COMMIT
/// issued through GRDB under `AsyncLock`, which keeps other work out until it ends.
public final class SQLiteDatabase: TributarySQL.Database {
    public let syntax = SQLSyntax.sqlite
    let queue: DatabaseQueue
    let lock = AsyncLock()

    public init(path: String) throws {
        var config = Configuration()
        config.foreignKeysEnabled = true
        config.allowsUnsafeTransactions = true
        config.busyMode = .timeout(10)
        config.prepareDatabase { db in
            if path != ":memory:" { try db.execute(sql: "PRAGMA journal_mode=WAL") }
            try db.execute(sql: "PRAGMA synchronous=NORMAL")
        }
        do {
            queue = try DatabaseQueue(path: path, configuration: config)
        } catch {
            throw DatabaseError(.connection, "cannot open SQLite database \(path): \(error)")
        }
    }

    public func execute(_ sql: TributarySQL.SQL) async throws -> Int {
        try await lock.withLock { try await self.unlockedExecute(sql) }
    }

    public func query(_ sql: TributarySQL.SQL) async throws -> [TributarySQL.Row] {
        try await lock.withLock { try await self.unlockedQuery(sql) }
    }

    public func transaction<T: Sendable>(_ body: @Sendable (any SQLExecutor) async throws -> T) async throws -> T {
        try await lock.withLock {
            try await self.run("BEGIN IMMEDIATE") { db in try db.execute(sql: "BEGIN IMMEDIATE") }
            do {
                let result = try await body(SQLiteTransaction(database: self))
                try await self.run("COMMIT") { db in try db.execute(sql: "COMMIT") }
                return result
            } catch {
                try? await self.run("ROLLBACK") { db in if db.isInsideTransaction { try db.execute(sql: "ROLLBACK") } }
                throw error
            }
        }
    }

    public func executeScript(_ script: String) async throws {
        try await lock.withLock {
            try await self.run(script) { db in try db.execute(sql: script) }
        }
    }

    public func introspect() async throws -> DatabaseSchema {
        try await lock.withLock {
            try await self.run("introspection") { db in try SQLiteIntrospection.read(db) }
        }
    }

    /// `flock` on a file beside the database (`<database>-tributary-<lock>.lock`), never on the
    /// database file itself: closing another descriptor of that file would drop SQLite's own
    /// POSIX locks. An in-memory database belongs to one process and needs none.
    public func withLock<T: Sendable>(_ lock: DatabaseLock, waiting: DatabaseLock.Waiting,
                                      _ body: @Sendable () async throws -> T) async throws -> T {
        let path = queue.path
        guard path != ":memory:", !path.isEmpty else { return try await body() }
        let lockPath = "\(path)-tributary-\(lock.name).lock"
        let descriptor = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw TributarySQL.DatabaseError(.connection, "cannot open lock file \(lockPath): \(String(cString: strerror(errno)))")
        }
        defer { Glibc.close(descriptor) }
        try await DatabaseLock.poll(waiting: waiting) {
            if flock(descriptor, LOCK_EX | LOCK_NB) == 0 { return true }
            guard errno == EWOULDBLOCK else {
                throw TributarySQL.DatabaseError(.connection, "cannot lock \(lockPath): \(String(cString: strerror(errno)))")
            }
            return false
        }
        defer { flock(descriptor, LOCK_UN) }
        return try await body()
    }

    public func close() async {
        try? queue.close()
    }

    func unlockedExecute(_ sql: TributarySQL.SQL) async throws -> Int {
        let (text, binds) = sql.render(.sqlite)
        return try await run(text) { db in
            if binds.isEmpty {
                try db.execute(sql: text)
            } else {
                // Cached: compiling an INSERT also compiles the table's capture triggers.
                try db.cachedStatement(sql: text).execute(arguments: StatementArguments(binds.map(\.databaseValue)))
            }
            return db.changesCount
        }
    }

    func unlockedQuery(_ sql: TributarySQL.SQL) async throws -> [TributarySQL.Row] {
        let (text, binds) = sql.render(.sqlite)
        return try await run(text) { db in
            let statement = try db.cachedStatement(sql: text)
            let columns = statement.columnNames
            // CHAR(n) values read stripped of trailing spaces, as MariaDB and PostgreSQL (here) read them.
            let fixed = (0..<columns.count).map { index in
                sqlite3_column_decltype(statement.sqliteStatement, Int32(index)).map { FixedChar.isFixed(String(cString: $0)) } ?? false
            }
            return try GRDB.Row.fetchAll(statement, arguments: StatementArguments(binds.map(\.databaseValue))).map { row in
                TributarySQL.Row(columns: columns, values: (0..<columns.count).map { index in
                    let value = SQLValue(row[index] as DatabaseValue)
                    if fixed[index], case .text(let text) = value { return .text(FixedChar.trim(text)) }
                    return value
                })
            }
        }
    }

    /// Runs one access on GRDB's queue, turning GRDB errors into `DatabaseError` with the SQL.
    func run<T: Sendable>(_ sql: String, _ access: @escaping @Sendable (GRDB.Database) throws -> T) async throws -> T {
        do {
            return try await queue.writeWithoutTransaction(access)
        } catch let error as GRDB.DatabaseError {
            throw TributarySQL.DatabaseError(.statement, error.message ?? "\(error)", sql: sql)
        }
    }
}

/// The executor handed to a transaction body: the lock is already held.
struct SQLiteTransaction: SQLExecutor {
    let database: SQLiteDatabase
    var syntax: SQLSyntax { .sqlite }
    func execute(_ sql: TributarySQL.SQL) async throws -> Int { try await database.unlockedExecute(sql) }
    func query(_ sql: TributarySQL.SQL) async throws -> [TributarySQL.Row] { try await database.unlockedQuery(sql) }
}

extension SQLValue {
    var databaseValue: DatabaseValue {
        switch self {
        case .null: .null
        case .integer(let v): v.databaseValue
        case .double(let v): v.databaseValue
        case .decimal(let v), .text(let v), .date(let v), .datetime(let v): v.databaseValue
        case .bytes(let v): Data(v).databaseValue
        case .bool(let v): Int64(v ? 1 : 0).databaseValue
        }
    }

    init(_ value: DatabaseValue) {
        switch value.storage {
        case .null: self = .null
        case .int64(let v): self = .integer(v)
        case .double(let v): self = .double(v)
        case .string(let v): self = .text(v)
        case .blob(let v): self = .bytes(Array(v))
        }
    }
}
