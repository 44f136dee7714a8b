import Foundation
import TributaryCore
import TributarySQL

/// Meets an incoming change with the row here and decides, by the table's policy, what stays:
/// - update: a column it changes no longer holds the value the change started from (and not
///   the new one either) — another node changed it meanwhile; columns changed apart merge;
/// - insert of a sync key already here with other values;
/// - update of a row not here: deleted here (a conflict) or never arrived (applied, noted);
/// - delete of a row changed here since the deleting node saw it.
/// Updates and inserts are decided column by column by the policy; a delete against an
/// update is decided for the delete (see `ConflictResolution.decideDeletion`).
/// Every conflict is recorded with both versions, their origins, the policy and the decision.
struct ConflictCheck {
    enum Kind: String {
        case updateUpdate = "update/update", insertInsert = "insert/insert"
        /// An incoming update of a row deleted here, and an incoming delete of a row changed here.
        case updateDeleted = "update/delete", deleteUpdated = "delete/update"
        case updateMissing = "update/missing"
        /// A delete whose row was still referred to here, and a row arriving that refers to a row deleted here.
        case deleteReferenced = "delete/referenced", referenceDeleted = "reference/deleted"
    }

    let entry: TableCatalog.Entry
    let change: WireChange
    let source: NodeID
    let local: (node: NodeID, depth: Int?)
    let depths: [String: Int]
    let tx: any SQLExecutor

    var policy: ConflictPolicy { entry.setting.policy }
    var incomingStamp: OriginStamp {
        OriginStamp(time: change.originTime, node: change.originNode.rawValue,
                    depth: change.originDepth ?? OriginDepths.depth(of: change.originNode.rawValue, known: depths, local: local))
    }

    /// Locked until the batch commits, so a local write cannot slip in between check and write
    /// (SQLite's writer lock, taken by BEGIN IMMEDIATE, does the same there).
    func currentRow(_ columns: [String], locator: [(String, SQLValue)]) async throws -> Row? {
        let lock: SQL = tx.syntax == .sqlite ? "" : " FOR UPDATE"
        return try await tx.query("SELECT \(idents: columns) FROM \(ident: entry.name) WHERE \(KeyResolver.whereClause(locator))" + lock).first
    }

    func same(_ column: String, _ a: SQLValue?, _ b: SQLValue?) -> Bool {
        guard let kind = entry.table.column(column)?.kind else { return true }
        return kind.normalize(a ?? .null) == kind.normalize(b ?? .null)
    }

    /// An update (`old` given) or an insert meeting a row here. Returns the columns to leave as
    /// they are here. `incoming` and `old` hold the change's values as local values.
    func losingColumns(locator: [(String, SQLValue)], incoming: [String: SQLValue], old: [String: SQLValue]?) async throws -> Set<String> {
        let columns = incoming.keys.sorted()
        guard !columns.isEmpty, let current = try await currentRow(columns, locator: locator) else { return [] }
        let conflicting = columns.filter { column in
            let here = current[column]
            if let old { return old[column] != nil && !same(column, here, old[column]) && !same(column, here, incoming[column]) }
            return !same(column, here, incoming[column])
        }
        guard !conflicting.isEmpty else { return [] }
        let kind: Kind = old == nil ? .insertInsert : .updateUpdate
        let stamps = try await localStamps(conflicting, locator: locator)
        // Column against column: each column's version here is the last change that set it;
        // columns set by the same change are decided (and recorded) together.
        var groups: [OriginStamp?: [String]] = [:]
        for column in conflicting { groups[stamps[column] ?? nil, default: []].append(column) }
        var losing = Set<String>()
        for (stamp, group) in groups.sorted(by: { $0.value[0] < $1.value[0] }) {
            let decision = ConflictResolution.decide(policy, local: stamp, incoming: incomingStamp)
            try await record(kind, columns: group, localValues: values(group) { "\(current[$0])" },
                             incomingValues: values(group) { "\(incoming[$0] ?? .null)" }, localStamp: stamp, decision: decision)
            if decision != .incoming { losing.formUnion(group) }
        }
        return losing
    }

    /// An incoming delete of a row here; `old` is the row the deleting node saw, as local values.
    /// Returns true when the row stays.
    func deleteLoses(locator: [(String, SQLValue)], old: [String: SQLValue]) async throws -> Bool {
        let columns = old.keys.filter { entry.table.column($0) != nil }.sorted()
        guard !columns.isEmpty, let current = try await currentRow(columns, locator: locator) else { return false }
        let changed = columns.filter { !same($0, current[$0], old[$0]) }
        guard !changed.isEmpty else { return false }
        let stamps = try await localStamps(changed, locator: locator)
        let latest = changed.compactMap { stamps[$0] ?? nil }.max()
        let decision = ConflictResolution.decideDeletion(policy, deleteIsIncoming: true)
        try await record(.deleteUpdated, columns: changed, localValues: values(changed) { "\(current[$0])" },
                         incomingValues: "deleted", localStamp: latest, decision: decision)
        return decision != .incoming
    }

    /// An incoming update of a row that is not here. Returns true when it is to be written
    /// (as an insert: the change carries the whole row).
    func updateOfMissingApplies(uuid: String?, locator: [(String, SQLValue)]? = nil) async throws -> Bool {
        let incomingValues = values((change.row ?? [:]).keys.sorted()) { change.row?[$0]?.description ?? "null" }
        guard let deletion = try await lastDeletion(uuid: uuid, locator: locator) else {
            // Never arrived (the table was off, or the insert failed elsewhere): nothing here to protect.
            try await record(.updateMissing, columns: [], localValues: "absent", incomingValues: incomingValues, localStamp: nil, decision: .incoming)
            return true
        }
        let decision = ConflictResolution.decideDeletion(policy, deleteIsIncoming: false)
        try await record(.updateDeleted, columns: [], localValues: "deleted", incomingValues: incomingValues, localStamp: deletion.stamp, decision: decision)
        return decision == .incoming
    }

    /// The last delete of the row with this uuid captured here, from the change log. A row
    /// without a uuid (`patient`, `drug_order`) is found by its recorded key, from `locator`.
    func lastDeletion(uuid: String?, locator: [(String, SQLValue)]? = nil) async throws -> (changeID: Int64, stamp: OriginStamp)? {
        guard let uuid else { return try await lastDeletion(locator: locator) }
        let rows = try await tx.query("""
            SELECT change_id, old_row, origin_node, origin_time FROM tributary_change
            WHERE table_name = \(entry.name) AND operation = 'D' AND target_node IS NULL AND old_row LIKE \("%" + uuid + "%")
            ORDER BY change_id DESC LIMIT 20
            """)
        for row in rows {
            guard let image = row.string("old_row").flatMap({ try? ImageDecoding.image($0) }), image["uuid"]?.description == uuid,
                  let time = ColumnKind.datetime.normalize(row["origin_time"]).string else { continue }
            let node = row.string("origin_node") ?? local.node.rawValue
            return (row.int("change_id") ?? 0, OriginStamp(time: time, node: node, depth: OriginDepths.depth(of: node, known: depths, local: local)))
        }
        return nil
    }

    func lastDeletion(locator: [(String, SQLValue)]?) async throws -> (changeID: Int64, stamp: OriginStamp)? {
        let keyColumns = Capture.recordedKey(entry)
        guard let locator, !keyColumns.isEmpty, Set(locator.map(\.0)) == Set(keyColumns) else { return nil }
        // The key the triggers recorded, computed from the values alone (the row is gone).
        let values = SQL.join(locator.map { column, value -> SQL in
            let integer = entry.table.column(column)?.kind == .integer
            let typed: SQL = tx.syntax == .postgres ? (integer ? "CAST(\(value) AS BIGINT)" : "CAST(\(value) AS TEXT)") : "\(value)"
            return "\(typed) AS \(ident: column)"
        }, separator: ", ")
        let key = CaptureDialects.dialect(for: tx.syntax).rowKey(entry)
        guard let row = try await tx.query("""
            SELECT change_id, origin_node, origin_time FROM tributary_change
            WHERE table_name = \(entry.name) AND operation = 'D' AND target_node IS NULL
              AND pk = (SELECT \(key) FROM (SELECT \(values)) t)
            ORDER BY change_id DESC LIMIT 1
            """).first, let time = ColumnKind.datetime.normalize(row["origin_time"]).string else { return nil }
        let node = row.string("origin_node") ?? local.node.rawValue
        return (row.int("change_id") ?? 0, OriginStamp(time: time, node: node, depth: OriginDepths.depth(of: node, known: depths, local: local)))
    }

    /// For each column, the origin of the last captured change here that set it (nil: set
    /// before capture began). Read from the row's changes in the log, newest first.
    func localStamps(_ columns: [String], locator: [(String, SQLValue)]) async throws -> [String: OriginStamp?] {
        let rows = try await tx.query("""
            SELECT operation, new_row, old_row, origin_node, origin_time FROM tributary_change
            WHERE table_name = \(entry.name) AND target_node IS NULL
              AND \(CaptureDialects.dialect(for: tx.syntax).rowKeyMatch(entry, locator))
            ORDER BY change_id DESC LIMIT 200
            """)
        var stamps: [String: OriginStamp?] = [:]
        var open = Set(columns)
        for row in rows where !open.isEmpty {
            guard let time = ColumnKind.datetime.normalize(row["origin_time"]).string else { continue }
            let node = row.string("origin_node") ?? local.node.rawValue
            let stamp = OriginStamp(time: time, node: node, depth: OriginDepths.depth(of: node, known: depths, local: local))
            let new = row.string("new_row").flatMap { try? ImageDecoding.image($0) } ?? [:]
            let old = row.string("old_row").flatMap { try? ImageDecoding.image($0) } ?? [:]
            for column in open where row.string("operation") == "I" || new[column] != old[column] {
                stamps[column] = stamp
                open.remove(column)
            }
        }
        for column in open { stamps[column] = .some(nil) }
        return stamps
    }

    func values(_ columns: [String], _ value: (String) -> String) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let object = Dictionary(uniqueKeysWithValues: columns.map { ($0, value($0)) })
        return String(decoding: (try? encoder.encode(object)) ?? Data(), as: UTF8.self)
    }

    func record(_ kind: Kind, columns: [String], localValues: String, incomingValues: String, localStamp: OriginStamp?,
                decision: ConflictDecision) async throws {
        let now = SQLValue.datetime(Clock.nowText())
        // A parked version keeps the whole change, so that taking it later needs nothing else.
        let parked: String? = decision == .pending ? String(decoding: try JSONEncoder().encode(change), as: UTF8.self) : nil
        try await tx.execute("""
            INSERT INTO tributary_conflict (table_name, sync_key, kind, columns, local_values, incoming_values, local_origin, incoming_origin,
              source_node, policy, decision, incoming_change, detected_at, resolved_at)
            VALUES (\(entry.name), \(WireValue.key(change.key).description), \(kind.rawValue), \(columns.joined(separator: ",")),
              \(localValues), \(incomingValues), \(localStamp?.description), \(incomingStamp.description), \(source.rawValue),
              \(policy.rawValue), \(decision.rawValue), \(parked), \(now), \(decision == .pending ? SQLValue.null : now))
            """)
    }
}
