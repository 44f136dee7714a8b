import Foundation
import TributaryCore
import TributarySQL

/// A person's decision of a conflict parked by `manual`: the chosen version is written here as
/// a forced change, which every other node then applies without a check.
public enum ConflictTake: Sendable, Equatable {
    case incoming
    case local
    /// Column values to write (a reference column takes the referenced row's uuid).
    case merged([String: WireValue])

    /// `incoming`, `local` or `merged:{"column": value, …}`.
    public init(parsing text: String) throws {
        switch text {
        case "incoming": self = .incoming
        case "local": self = .local
        case _ where text.hasPrefix("merged:"):
            let json = Data(text.dropFirst("merged:".count).utf8)
            guard let values = try? JSONDecoder().decode([String: WireValue].self, from: json), !values.isEmpty else {
                throw ConfigurationError("merged: takes a JSON object of column values, e.g. merged:{\"family_name\":\"Okello\"}")
            }
            self = .merged(values)
        default: throw ConfigurationError("--take must be incoming, local or merged:JSON, not '\(text)'")
        }
    }

    var name: String {
        switch self {
        case .incoming: "incoming"
        case .local: "local"
        case .merged: "merged"
        }
    }
}

extension SyncNode {
    /// Decides conflict `id` (which must be waiting) and writes the decision as a change that syncs everywhere.
    public func resolveConflict(_ id: Int64, take: ConflictTake) async throws {
        guard let row = try await database.query("""
            SELECT table_name, sync_key, kind, columns, decision, incoming_change FROM tributary_conflict WHERE conflict_id = \(id)
            """).first else { throw ConfigurationError("there is no conflict #\(id) at this node") }
        guard row.string("decision") == ConflictDecision.pending.rawValue else {
            throw ConfigurationError("conflict #\(id) is not waiting for a decision (it was decided: \(row.string("decision") ?? "?"))")
        }
        guard let table = row.string("table_name"), let entry = catalog[table], entry.syncs,
              let parkedText = row.string("incoming_change"),
              let parked = try? JSONDecoder().decode(WireChange.self, from: Data(parkedText.utf8)) else {
            throw ConfigurationError("conflict #\(id) cannot be decided here: its table is not synchronized or its parked version is unreadable")
        }
        let kind = ConflictCheck.Kind(rawValue: row.string("kind") ?? "") ?? .updateUpdate
        let columns = (row.string("columns") ?? "").split(separator: ",").map(String.init)
        let now = Clock.nowText()
        func decision(_ operation: ChangeOperation, _ values: [String: WireValue]?) -> WireChange {
            WireChange(table: table, operation: operation, key: parked.key, row: values, old: nil, originNode: self.id, originTime: now,
                       originDepth: depth, forced: true)
        }
        let loader = self.loader()
        switch take {
        case .incoming:
            if parked.operation == .delete {
                try await loader.applyDecision(decision(.delete, nil))
            } else {
                // Where the row is here, only the columns in conflict; where it is not, the whole row.
                let rowHere = kind == .updateUpdate || kind == .insertInsert
                let values = rowHere ? (parked.row ?? [:]).filter { columns.contains($0.key) } : parked.row
                try await loader.applyDecision(decision(.update, values))
            }
        case .merged(let values):
            var wire: [String: WireValue] = [:]
            for (column, value) in values {
                guard entry.table.column(column) != nil else { throw ConfigurationError("\(table) has no column '\(column)'") }
                if entry.reference(on: column) != nil, case .string(let uuid) = value { wire[column] = .key([.string(uuid)]) } else { wire[column] = value }
            }
            try await loader.applyDecision(decision(.update, wire))
        case .local:
            try await database.transaction { tx in
                let resolver = KeyResolver(db: tx, catalog: catalog)
                let locator = try await resolver.localLocator(entry, key: parked.key)
                if let locator, try await resolver.exists(entry, locator) {
                    try await ForcedChanges.reemit(entry, locator: locator, origin: nil, tx: tx)
                } else {
                    let check = ConflictCheck(entry: entry, change: parked, source: self.id, local: (self.id, depth), depths: [:], tx: tx)
                    let uuid: String? = parked.key.count == 1 ? parked.key.first.flatMap { if case .string(let u) = $0 { u } else { nil } } : nil
                    if let deletion = try await check.lastDeletion(uuid: uuid) { try await ForcedChanges.reemitDeletion(changeID: deletion.changeID, tx: tx) }
                }
            }
        }
        try await database.transaction { tx in
            try await tx.execute("""
                UPDATE tributary_conflict SET decision = \(take.name), resolved_at = \(SQLValue.datetime(Clock.nowText())) WHERE conflict_id = \(id)
                """)
            try await ForcedChanges.closePending(table: table, key: parked.key, tx: tx)
        }
    }
}
