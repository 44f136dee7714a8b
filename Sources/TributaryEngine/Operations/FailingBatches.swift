import TributaryCore
import TributarySQL

/// The batches that fail, one entry each however often they were tried: those this node could
/// not apply (from its incoming errors) and those it could not send (an error on the batch:
/// refused by the receiver, or not buildable here).
public struct FailingBatch: Sendable, Codable, Equatable {
    public var channel: String?
    public var batch: Int64
    public var table: String?
    public var key: String?
    public var error: String
    public var attempts: Int64
    public var firstSeen: String?
    public var lastSeen: String?
    /// `incoming` (failed here) or `outgoing` (failed at, or on the way to, `peer`).
    public var side: String
    public var peer: String

    enum CodingKeys: String, CodingKey {
        case channel, batch, table, key, error, attempts, firstSeen = "first_seen", lastSeen = "last_seen", side, peer
    }

    static func read(_ db: any SQLExecutor) async throws -> [FailingBatch] {
        var result: [FailingBatch] = []
        let incoming = try await db.query("""
            SELECT e.source_node, e.batch_id, e.channel, e.table_name, e.sync_key, e.cause, g.attempts, g.first_seen, g.last_seen
            FROM tributary_incoming_error e JOIN (
              SELECT source_node, batch_id, SUM(attempts) AS attempts, MIN(occurred_at) AS first_seen,
                     MAX(COALESCE(last_seen, occurred_at)) AS last_seen,
                     MAX(error_id) AS last_id
              FROM tributary_incoming_error WHERE resolved = \(false) GROUP BY source_node, batch_id) g ON e.error_id = g.last_id
            ORDER BY e.error_id
            """)
        for row in incoming {
            result.append(FailingBatch(
                channel: row.string("channel"), batch: row.int("batch_id") ?? 0, table: row.string("table_name"), key: row.string("sync_key"),
                error: row.string("cause") ?? "", attempts: row.int("attempts") ?? 1,
                firstSeen: ColumnKind.datetime.normalize(row["first_seen"]).string, lastSeen: ColumnKind.datetime.normalize(row["last_seen"]).string,
                side: "incoming", peer: row.string("source_node") ?? ""))
        }
        let outgoing = try await db.query("""
            SELECT batch_id, target_node, channel, error, send_count, created_at, last_sent_at FROM tributary_outgoing_batch
            WHERE status = 'pending' AND error IS NOT NULL ORDER BY batch_id
            """)
        for row in outgoing {
            result.append(FailingBatch(
                channel: row.string("channel"), batch: row.int("batch_id") ?? 0, table: nil, key: nil, error: row.string("error") ?? "",
                attempts: max(1, row.int("send_count") ?? 1),
                firstSeen: ColumnKind.datetime.normalize(row["created_at"]).string,
                lastSeen: ColumnKind.datetime.normalize(row["last_sent_at"]).string ?? ColumnKind.datetime.normalize(row["created_at"]).string,
                side: "outgoing", peer: row.string("target_node") ?? ""))
        }
        return result
    }
}
