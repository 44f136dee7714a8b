import Logging
import TributaryCore
import TributaryMySQL
import TributaryOpenMRS
import TributaryPostgres
import TributarySQL
import TributarySQLite

/// Opens a database from its URL with the matching dialect.
public enum Databases {
    public static func connect(_ url: String, logger: Logger = Logger(label: "tributary.db")) async throws -> any Database {
        switch try DatabaseURL(url) {
        case .sqlite(let path): try SQLiteDatabase(path: path)
        case .postgres(let endpoint): try await PostgresDatabase(endpoint, logger: logger)
        case .mysql(let endpoint): try await MySQLDatabase(endpoint)
        }
    }

    /// The table profile a configuration names.
    public static func profile(named name: String?) throws -> any TableProfile {
        switch name ?? "openmrs" {
        case "openmrs": OpenMRSProfile()
        case "none", "plain": PlainProfile()
        default: throw ConfigurationError("unknown profile '\(name!)' (use openmrs or none)")
        }
    }

    /// Connects, introspects and builds the table catalog for a configuration.
    public static func catalog(for configuration: NodeConfiguration, database: any Database) async throws -> TableCatalog {
        let profile = try profile(named: configuration.profile)
        // Settings stored in the database (from the root, or set at the root) come over the config file's.
        // (A database Tributary has not run on yet has no settings table: `tables` reads it as it is.)
        let schema = try await database.introspect()
        let stored = schema.tables.contains { $0.name == "tributary_table_setting" } ? try await SyncNode.storedSettings(database) : [:]
        let overrides = configuration.overrides(profile: profile).merging(stored) { _, stored in stored }
        return TableCatalog(schema: schema, profile: profile, overrides: overrides)
    }
}

extension Database {
    /// Runs `body` (migrations, trigger reconciliation) holding `DatabaseLock.opening`; not nested.
    public func whileOpening<T: Sendable>(logger: Logger, _ body: @Sendable () async throws -> T) async throws -> T {
        try await withLock(.opening, waiting: { waited in
            if waited == .zero { logger.info("another tributary process is opening this database; waiting for it") }
        }, body)
    }
}
