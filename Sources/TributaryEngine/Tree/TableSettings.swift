import Foundation
import TributaryCore
import TributarySQL

/// Table settings live at the root and flow down: the root's effective settings (profile
/// defaults, its config's `tables`, then `tributary tables --set`) are what every node
/// below it stores in `tributary_table_setting` and syncs by. A node rebuilds its catalog
/// and reconciles its triggers when they change.
public struct SettingsDocument: Sendable, Hashable, Codable {
    public var version: String
    public var tables: [String: TableSetting]
    /// The sender's depth in the tree (not part of the version): the receiver sits one below.
    public var depth: Int?

    public init(tables: [String: TableSetting], depth: Int? = nil) {
        self.tables = tables
        self.depth = depth
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let data = (try? encoder.encode(tables)) ?? Data()
        version = Secrets.hash(String(decoding: data, as: UTF8.self))
    }
}

extension SyncNode {
    /// What this node passes down: its effective settings for every table with an identity.
    public func settingsDocument() -> SettingsDocument {
        SettingsDocument(tables: Dictionary(uniqueKeysWithValues: catalog.entries.filter { $0.key.kind != .none }.map { ($0.name, $0.setting) }),
                         depth: depth)
    }

    static func storedSettings(_ db: any SQLExecutor) async throws -> [String: TableSetting] {
        var result: [String: TableSetting] = [:]
        for row in try await db.query("SELECT table_name, enabled, channel, direction, initial_load, policy FROM tributary_table_setting") {
            guard let table = row.string("table_name") else { continue }
            result[table] = TableSetting(enabled: row.bool("enabled") ?? true, channel: row.string("channel") ?? "default",
                                         direction: Direction(rawValue: row.string("direction") ?? "") ?? .both,
                                         initialLoad: row.bool("initial_load") ?? true,
                                         policy: ConflictPolicy(rawValue: row.string("policy") ?? "") ?? .newerWins)
        }
        return result
    }

    static func writeSetting(_ table: String, _ setting: TableSetting, _ tx: any SQLExecutor) async throws {
        try await tx.execute("DELETE FROM tributary_table_setting WHERE table_name = \(table)")
        try await tx.execute("""
            INSERT INTO tributary_table_setting (table_name, enabled, channel, direction, initial_load, policy, updated_at)
            VALUES (\(table), \(setting.enabled), \(setting.channel), \(setting.direction.rawValue), \(setting.initialLoad),
                    \(setting.policy.rawValue), \(SQLValue.datetime(Clock.nowText())))
            """)
    }

    /// `tributary tables --set TABLE key=value…` at the root. Returns the new setting.
    public func changeSetting(_ table: String, _ assignments: [String: String]) async throws -> TableSetting {
        guard let entry = catalog[table] else { throw ConfigurationError("there is no table '\(table)' in this database") }
        guard entry.key.kind != .none else { throw ConfigurationError("table '\(table)' has no stable identity and cannot sync") }
        guard try await identity("parent_node") == nil, configuration.parent == nil else {
            throw ConfigurationError("table settings are changed at the root of the tree; this node has a parent")
        }
        var setting = entry.setting
        for (key, value) in assignments {
            switch key {
            case "enabled": guard let v = Bool(value) else { throw ConfigurationError("enabled must be true or false, not '\(value)'") }; setting.enabled = v
            case "initial_load": guard let v = Bool(value) else { throw ConfigurationError("initial_load must be true or false, not '\(value)'") }; setting.initialLoad = v
            case "direction": guard let v = Direction(rawValue: value) else { throw ConfigurationError("direction must be up, down or both, not '\(value)'") }; setting.direction = v
            case "policy":
                guard let v = ConflictPolicy(rawValue: value) else {
                    throw ConfigurationError("policy must be one of \(ConflictPolicy.allCases.map(\.rawValue).joined(separator: ", ")), not '\(value)'")
                }
                setting.policy = v
            case "channel": guard !value.isEmpty, value.count <= 64 else { throw ConfigurationError("channel must be a name of 1 to 64 characters") }; setting.channel = value
            default: throw ConfigurationError("unknown table setting '\(key)' (enabled, channel, direction, initial_load, policy)")
            }
        }
        let chosen = setting
        try await database.transaction { tx in try await Self.writeSetting(table, chosen, tx) }
        try await refreshSettings()
        return chosen
    }

    /// A child takes its parent's settings. Returns true when they changed anything here.
    @discardableResult
    public func adoptSettings(_ document: SettingsDocument) async throws -> Bool {
        if let parentDepth = document.depth, depth != parentDepth + 1 {
            try await setIdentity("depth", String(parentDepth + 1))
            depthBox.set(parentDepth + 1)
        }
        guard try await identity("settings_version") != document.version else { return false }
        try await database.transaction { tx in
            try await tx.execute("DELETE FROM tributary_table_setting")
            for (table, setting) in document.tables.sorted(by: { $0.key < $1.key }) { try await Self.writeSetting(table, setting, tx) }
            try await Self.setIdentity("settings_version", document.version, tx)
        }
        try await refreshSettings()
        logger.info("table settings received from the parent", metadata: ["version": "\(document.version.prefix(12))"])
        return true
    }

    /// Rebuilds the catalog from the stored settings when they differ from those in use,
    /// and brings the triggers in line.
    public func refreshSettings() async throws {
        let stored = try await Self.storedSettings(database)
        let current = catalog
        let changed = stored.contains { table, setting in current[table].map { $0.key.kind != .none && $0.setting != setting } ?? false }
        guard changed else { return }
        let (configuration, database, logger) = (configuration, database, logger)
        let rebuilt = try await database.whileOpening(logger: logger) {
            let rebuilt = try await Databases.catalog(for: configuration, database: database)
            try await Capture(database: database, logger: logger).reconcile(rebuilt)
            return rebuilt
        }
        catalogBox.set(rebuilt)
        logger.info("table settings changed; capture reconciled")
    }
}
