import NIOPosix
import TributarySQL

/// MySQL/MariaDB over MariaDB Connector/C. The blocking client runs on NIO's thread
/// pool, never on the cooperative pool; one connection, one statement at a time.
public final class MySQLDatabase: Database {
    public let syntax = SQLSyntax.mysql
    let connection: MariaDBConnection
    let lock = AsyncLock()

    public init(_ endpoint: DatabaseURL.Endpoint) async throws {
        connection = try await NIOThreadPool.singleton.runIfActive { try MariaDBConnection(endpoint) }
    }

    public func execute(_ sql: SQL) async throws -> Int {
        try await lock.withLock { try await self.unlockedExecute(sql) }
    }

    public func query(_ sql: SQL) async throws -> [Row] {
        try await lock.withLock { try await self.unlockedQuery(sql) }
    }

    public func transaction<T: Sendable>(_ body: @Sendable (any SQLExecutor) async throws -> T) async throws -> T {
        try await lock.withLock {
            try await self.blocking { try $0.runText("START TRANSACTION") }
            do {
                let result = try await body(MySQLTransaction(database: self))
                try await self.blocking { try $0.runText("COMMIT") }
                return result
            } catch {
                _ = try? await self.blocking { try $0.runText("ROLLBACK") }
                throw error
            }
        }
    }

    public func executeScript(_ script: String) async throws {
        try await lock.withLock { _ = try await self.blocking { try $0.runText(script) } }
    }

    public func introspect() async throws -> DatabaseSchema {
        try await MySQLIntrospection.read(self)
    }

    /// `GET_LOCK` names are server-wide: the name carries a hash of this database's name, so
    /// nodes whose databases share one server do not wait for each other. The lock belongs to
    /// this object's one connection, which `body` keeps using.
    public func withLock<T: Sendable>(_ lock: DatabaseLock, waiting: DatabaseLock.Waiting,
                                      _ body: @Sendable () async throws -> T) async throws -> T {
        let name: SQL = "CONCAT('tributary.', LEFT(SHA2(CONCAT(DATABASE(), '/', \(lock.name)), 256), 40))"
        try await DatabaseLock.poll(waiting: waiting) {
            try await self.query("SELECT GET_LOCK(\(name), 0) AS taken").first?.values.first?.int64 == 1
        }
        do {
            let result = try await body()
            _ = try await query("SELECT RELEASE_LOCK(\(name))")
            return result
        } catch {
            _ = try? await query("SELECT RELEASE_LOCK(\(name))")
            throw error
        }
    }

    public func close() async {}

    func unlockedExecute(_ sql: SQL) async throws -> Int {
        let (text, binds) = sql.render(.mysql)
        if binds.isEmpty { return try await blocking { try $0.runText(text) } }
        return try await blocking { try $0.run(text, binds).affected }
    }

    func unlockedQuery(_ sql: SQL) async throws -> [Row] {
        let (text, binds) = sql.render(.mysql)
        return try await blocking { try $0.run(text, binds).rows ?? [] }
    }

    @discardableResult
    private func blocking<T: Sendable>(_ work: @escaping @Sendable (MariaDBConnection) throws -> T) async throws -> T {
        let connection = self.connection
        return try await NIOThreadPool.singleton.runIfActive { try work(connection) }
    }
}

struct MySQLTransaction: SQLExecutor {
    let database: MySQLDatabase
    var syntax: SQLSyntax { .mysql }
    func execute(_ sql: SQL) async throws -> Int { try await database.unlockedExecute(sql) }
    func query(_ sql: SQL) async throws -> [Row] { try await database.unlockedQuery(sql) }
}
