import Logging
import TributarySQL

/// Keeps a database's capture triggers in line with its schema and table settings:
/// installs what is missing, replaces what changed (a column added by an upgrade),
/// removes what is no longer enabled. Running it twice changes nothing the second time.
public struct Capture: Sendable {
    public let database: any Database
    public let dialect: any CaptureDialect
    let logger: Logger

    public init(database: any Database, logger: Logger = Logger(label: "tributary.capture")) {
        self.database = database
        self.dialect = CaptureDialects.dialect(for: database.syntax)
        self.logger = logger
    }

    public struct Report: Sendable, Equatable {
        public var installed: [String] = []
        public var replaced: [String] = []
        public var removed: [String] = []
        public var unchanged = 0
        public var changed: Bool { !(installed.isEmpty && replaced.isEmpty && removed.isEmpty) }
    }

    /// The columns a change's `pk` is recorded by: the primary key, or all key columns of a link table.
    static func recordedKey(_ entry: TableCatalog.Entry) -> [String] {
        entry.table.primaryKey.isEmpty ? entry.key.columns : entry.table.primaryKey
    }

    @discardableResult
    public func reconcile(_ catalog: TableCatalog) async throws -> Report {
        try await Migrations.apply(to: database)
        var installed: [String: String] = [:]
        for row in try await database.query("SELECT table_name, fingerprint FROM tributary_trigger") {
            installed[row.string("table_name")!] = row.string("fingerprint")!
        }
        var report = Report()
        let wanted = catalog.synced
        for entry in wanted {
            let statements = dialect.installTriggers(for: entry.table, keyColumns: Self.recordedKey(entry))
            // The column list is part of the fingerprint even where the DDL does not name
            // columns (PostgreSQL's to_jsonb), so an upgrade's new column always shows.
            let columns = entry.table.columns.map { "\($0.name):\($0.declaredType)" }.joined(separator: ",")
            let fingerprint = Fingerprint.of(statements + [columns])
            if installed[entry.name] == fingerprint { report.unchanged += 1; continue }
            try await database.transaction { db in
                for statement in statements { try await db.execute(SQL(trusted: statement)) }
                try await db.execute("DELETE FROM tributary_trigger WHERE table_name = \(entry.name)")
                try await db.execute("INSERT INTO tributary_trigger (table_name, fingerprint, installed_at) VALUES (\(entry.name), \(fingerprint), \(SQLValue.datetime(Clock.nowText())))")
            }
            if installed[entry.name] == nil { report.installed.append(entry.name) } else { report.replaced.append(entry.name) }
        }
        let wantedNames = Set(wanted.map(\.name))
        for name in installed.keys.sorted() where !wantedNames.contains(name) {
            try await remove(name)
            report.removed.append(name)
        }
        logger.info("capture reconciled", metadata: [
            "installed": "\(report.installed.count)", "replaced": "\(report.replaced.count)",
            "removed": "\(report.removed.count)", "unchanged": "\(report.unchanged)"])
        return report
    }

    /// Removes one table's triggers and its record.
    public func remove(_ table: String) async throws {
        try await database.transaction { db in
            for statement in dialect.removeTriggers(for: table) { try await db.execute(SQL(trusted: statement)) }
            try await db.execute("DELETE FROM tributary_trigger WHERE table_name = \(table)")
        }
    }

    /// Runs `body` as one transaction marked as the loader applying changes from `source`:
    /// every change it makes is captured with that source and the given origin stamp.
    public func asLoader<T: Sendable>(source: String, originNode: String, originTime: String,
                                      _ body: @Sendable @escaping (any SQLExecutor) async throws -> T) async throws -> T {
        let dialect = self.dialect
        return try await database.transaction { db in
            for statement in dialect.markLoader(source: source, originNode: originNode, originTime: originTime) {
                _ = try await db.query(statement)
            }
            do {
                let result = try await body(db)
                for statement in dialect.clearLoader() { try await db.execute(statement) }
                return result
            } catch {
                for statement in dialect.clearLoader() { _ = try? await db.execute(statement) }
                throw error
            }
        }
    }
}

/// A short stable digest (FNV-1a, 64 bits) of generated DDL, to see when it changes.
enum Fingerprint {
    static func of(_ statements: [String]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in statements.joined(separator: "\n").utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return String(hash, radix: 16)
    }
}
