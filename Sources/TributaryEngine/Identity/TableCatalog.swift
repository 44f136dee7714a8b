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
        /// Every column that holds another row's key: single-column foreign keys and the
        /// profile's undeclared references.
        public var references: [Reference] { didSet { referenceIndex = Self.index(references) } }
        private var referenceIndex: [String: Reference] = [:]
        /// A column holding an id of a table chosen by the row's type (`person_attribute.value`).
        public var typedValue: TypedValueReference?
        /// What the profile says the table holds, and why that decides its settings.
        public var family: TableFamily = .module
        public var familyReason = ""

        public func reference(on column: String) -> Reference? { referenceIndex[column] }

        init(table: TableSchema, key: SyncKey, setting: TableSetting, excludedBecause: String?, references: [Reference], typedValue: TypedValueReference?) {
            self.table = table
            self.key = key
            self.setting = setting
            self.excludedBecause = excludedBecause
            self.references = references
            self.referenceIndex = Self.index(references)
            self.typedValue = typedValue
        }

        static func index(_ references: [Reference]) -> [String: Reference] {
            Dictionary(references.map { ($0.column, $0) }, uniquingKeysWith: { first, _ in first })
        }

        public var name: String { table.name }
        /// Synchronized: enabled and with a stable identity.
        public var syncs: Bool { setting.enabled && key.kind != .none }
    }

    public var entries: [Entry] { didSet { index = Self.index(entries); loadRanks = Self.ranks(entries) } }
    private var index: [String: Int] = [:]
    /// Each synced table's place in reference order (typed values count as references to
    /// their targets); the loader writes a batch's inserts of lower ranks first.
    public private(set) var loadRanks: [String: Int] = [:]

    static func ranks(_ entries: [Entry]) -> [String: Int] {
        var references: [String: Set<String>] = [:]
        for entry in entries where entry.syncs {
            var targets = Set(entry.references.map(\.targetTable))
            for target in entry.typedValue?.targets.values.map(\.table) ?? [] { targets.insert(target) }
            references[entry.name] = targets
        }
        return LoadOrder.ranks(references)
    }

    static func index(_ entries: [Entry]) -> [String: Int] {
        Dictionary(entries.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// Combines the introspected schema with the profile's defaults and local overrides.
    public init(schema: DatabaseSchema, profile: TableProfile, overrides: [String: TableSetting] = [:]) {
        entries = schema.applicationTables.tables.map { table in
            let key = SyncKey.derive(for: table)
            var setting = overrides[table.name] ?? profile.setting(for: table.name)
            var excluded: String? = profile.exclusionReason(for: table.name)
            if key.kind == .none {
                setting.enabled = false
                excluded = excluded ?? "no stable identity: \(key.reason ?? "")"
            } else if !setting.enabled, excluded == nil {
                excluded = "disabled in the table settings"
            } else if setting.enabled {
                excluded = nil
            }
            var references = table.foreignKeys.filter { $0.columns.count == 1 }.map {
                Reference(column: $0.columns[0], targetTable: $0.referencedTable, targetColumn: $0.referencedColumns[0])
            }
            for extra in profile.undeclaredReferences(for: table.name)
            where table.column(extra.column) != nil && !references.contains(where: { $0.column == extra.column }) {
                references.append(extra)
            }
            let typedValue = profile.typedValueReference(for: table.name).flatMap { table.column($0.valueColumn) != nil ? $0 : nil }
            var entry = Entry(table: table, key: key, setting: setting, excludedBecause: excluded, references: references, typedValue: typedValue)
            (entry.family, entry.familyReason) = profile.family(for: table.name)
            return entry
        }
        index = Self.index(entries)  // property observers do not run in an initializer
        loadRanks = Self.ranks(entries)
    }

    public subscript(_ name: String) -> Entry? { index[name].map { entries[$0] } }
    public var synced: [Entry] { entries.filter(\.syncs) }
}
