import TributaryCore
import TributarySQL

/// Every application table with its sync key and its settings: what `tables` prints
/// and what capture installs triggers for.
public struct TableCatalog: Sendable {
    public struct Entry: Sendable, Hashable {
        public var table: TableSchema
        public var key: SyncKey
        public var setting: TableSetting
        /// Why the table does not sync, when it does not.
        public var excludedBecause: String?

        public var name: String { table.name }
        /// Synchronized: enabled and with a stable identity.
        public var syncs: Bool { setting.enabled && key.kind != .none }
    }

    public var entries: [Entry]

    /// Combines the introspected schema with the profile's defaults and local overrides.
    public init(schema: DatabaseSchema, profile: TableProfile, overrides: [String: TableSetting] = [:]) {
        entries = schema.applicationTables.tables.map { table in
            let key = SyncKey.derive(for: table)
            var setting = overrides[table.name] ?? profile.setting(for: table.name)
            var excluded: String? = profile.exclusionReason(for: table.name)
            if key.kind == .none {
                setting.enabled = false
                excluded = "no stable identity: \(key.reason ?? "")"
            } else if !setting.enabled, excluded == nil {
                excluded = "disabled in the table settings"
            } else if setting.enabled {
                excluded = nil
            }
            return Entry(table: table, key: key, setting: setting, excludedBecause: excluded)
        }
    }

    public subscript(_ name: String) -> Entry? { entries.first { $0.name == name } }
    public var synced: [Entry] { entries.filter(\.syncs) }
}
