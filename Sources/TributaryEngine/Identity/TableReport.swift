import Foundation

/// What `tributary tables` prints, as text for people and JSON for programs.
public enum TableReport {
    struct TableJSON: Encodable {
        struct ForeignKeyJSON: Encodable {
            let columns: [String]
            let references_table: String
            let references_columns: [String]
        }
        let table: String
        let key: String
        let key_columns: [String]
        let enabled: Bool
        let direction: String
        let channel: String
        let policy: String
        let initial_load: Bool
        let syncs: Bool
        let foreign_keys: [ForeignKeyJSON]
        let reason: String?
        /// site-local, metadata, clinical or module, and why (`TableFamily`).
        let family: String
        let family_reason: String
    }

    public static func json(_ catalog: TableCatalog) throws -> String {
        let tables = catalog.entries.map { entry in
            TableJSON(table: entry.name, key: entry.key.kind.rawValue, key_columns: entry.key.columns,
                      enabled: entry.setting.enabled, direction: entry.setting.direction.rawValue,
                      channel: entry.setting.channel, policy: entry.setting.policy.rawValue,
                      initial_load: entry.setting.initialLoad, syncs: entry.syncs,
                      foreign_keys: entry.table.foreignKeys.map {
                          .init(columns: $0.columns, references_table: $0.referencedTable, references_columns: $0.referencedColumns)
                      },
                      reason: entry.excludedBecause, family: entry.family.rawValue, family_reason: entry.familyReason)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(tables), as: UTF8.self)
    }

    public static func text(_ catalog: TableCatalog) -> String {
        var lines: [String] = []
        let width = max(5, catalog.entries.map(\.name.count).max() ?? 5)
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
        lines.append(pad("TABLE", width) + "  " + pad("KEY", 8) + pad("SYNC", 6) + pad("DIRECTION", 10) + pad("CHANNEL", 10) + pad("POLICY", 12) + "KEY COLUMNS / FOREIGN KEYS")
        for entry in catalog.entries {
            let fks = entry.table.foreignKeys.map { "\($0.columns.joined(separator: ","))→\($0.referencedTable)" }.joined(separator: " ")
            lines.append(pad(entry.name, width) + "  " + pad(entry.key.kind.rawValue, 8) + pad(entry.syncs ? "yes" : "no", 6)
                         + pad(entry.setting.direction.rawValue, 10) + pad(entry.setting.channel, 10) + pad(entry.setting.policy.rawValue, 12)
                         + "(" + entry.key.columns.joined(separator: ", ") + ")" + (fks.isEmpty ? "" : "  " + fks))
        }
        let synced = catalog.synced.count
        lines.append("")
        lines.append("\(catalog.entries.count) tables, \(synced) will sync.")
        let excluded = catalog.entries.filter { !$0.syncs }
        if !excluded.isEmpty {
            lines.append("Not synchronized:")
            for entry in excluded { lines.append("  \(entry.name): \(entry.excludedBecause ?? "disabled")") }
        }
        return lines.joined(separator: "\n")
    }
}
