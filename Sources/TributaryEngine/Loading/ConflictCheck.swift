import Foundation
import TributaryCore
import TributarySQL

/// An update meets a conflict when a column it changes no longer holds the value the change
/// started from (and does not already hold the new one): another node changed it meanwhile.
/// Columns the two sides changed apart are merged; on a column both changed, the version with
/// the later origin stamp wins (`newer-wins`). Every conflict is recorded.
struct ConflictCheck {
    let entry: TableCatalog.Entry
    let locator: [(String, SQLValue)]
    let change: WireChange
    let source: NodeID
    let localNode: NodeID
    let tx: any SQLExecutor

    /// Returns the columns to leave as they are here (empty when the incoming change wins or
    /// nothing conflicts). `incoming` and `old` are the change's values for `columns`, as local values.
    func losingColumns(incoming: [String: SQLValue], old: [String: SQLValue]) async throws -> Set<String> {
        let columns = incoming.keys.sorted()
        guard !columns.isEmpty else { return [] }
        // Locked until the batch commits, so a local write cannot slip in between check and write
        // (SQLite's writer lock, taken by BEGIN IMMEDIATE, does the same there).
        let lock: SQL = tx.syntax == .sqlite ? "" : " FOR UPDATE"
        let current = try await tx.query("SELECT \(idents: columns) FROM \(ident: entry.name) WHERE \(KeyResolver.whereClause(locator))" + lock).first
        guard let current else { return [] }
        var conflicting: [String] = []
        for column in columns {
            guard let kind = entry.table.column(column)?.kind, let was = old[column], let becomes = incoming[column] else { continue }
            let here = kind.normalize(current[column])
            if here != kind.normalize(was) && here != kind.normalize(becomes) { conflicting.append(column) }
        }
        guard !conflicting.isEmpty else { return [] }
        let stamps = try await localStamps(conflicting)
        let incomingStamp = OriginStamp(time: change.originTime, node: change.originNode.rawValue)
        var losing = Set<String>()
        for column in conflicting {
            // Column against column: the stamp of the last change here that set this column.
            let local = stamps[column] ?? nil
            let decision = NewerWins.decide(local: local, incoming: incomingStamp)
            try await record(columns: [column], current: current, incoming: incoming, local: local, incomingStamp: incomingStamp, decision: decision)
            if decision == .local { losing.insert(column) }
        }
        return losing
    }

    /// For each column, the origin of the last captured change here that set it (nil: set
    /// before capture began). Read from the row's changes in the log, newest first.
    func localStamps(_ columns: [String]) async throws -> [String: OriginStamp?] {
        let dialect = CaptureDialects.dialect(for: tx.syntax)
        let key = dialect.snapshotImages(of: entry.table, keyColumns: Capture.recordedKey(entry), alias: "t").key
        let rows = try await tx.query("""
            SELECT operation, new_row, old_row, origin_node, origin_time FROM tributary_change
            WHERE table_name = \(entry.name) AND target_node IS NULL
              AND pk = (SELECT \(SQL(trusted: key)) FROM \(ident: entry.name) t WHERE \(KeyResolver.whereClause(locator)))
            ORDER BY change_id DESC LIMIT 200
            """)
        var stamps: [String: OriginStamp?] = [:]
        var open = Set(columns)
        for row in rows where !open.isEmpty {
            guard let time = ColumnKind.datetime.normalize(row["origin_time"]).string else { continue }
            let stamp = OriginStamp(time: time, node: row.string("origin_node") ?? localNode.rawValue)
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

    func record(columns: [String], current: Row, incoming: [String: SQLValue], local: OriginStamp?, incomingStamp: OriginStamp,
                decision: NewerWins.Decision) async throws {
        func json(_ values: [String: String]) -> String {
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            return String(decoding: (try? encoder.encode(values)) ?? Data(), as: UTF8.self)
        }
        let localValues = json(Dictionary(uniqueKeysWithValues: columns.map { ($0, "\(current[$0])") }))
        let incomingValues = json(Dictionary(uniqueKeysWithValues: columns.map { ($0, "\(incoming[$0] ?? .null)") }))
        try await tx.execute("""
            INSERT INTO tributary_conflict (table_name, sync_key, columns, local_values, incoming_values, local_origin, incoming_origin,
              source_node, policy, decision, detected_at)
            VALUES (\(entry.name), \(WireValue.key(change.key).description), \(columns.joined(separator: ",")), \(localValues), \(incomingValues),
              \(local?.description), \(incomingStamp.description), \(source.rawValue), 'newer-wins', \(decision.rawValue),
              \(SQLValue.datetime(Clock.nowText())))
            """)
    }
}
