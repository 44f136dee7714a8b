import TributaryCore
import TributarySQL

/// The outgoing batch store: batches stay pending until the target acknowledges them.
public enum OutgoingBatches {
    public struct Pending: Sendable, Hashable {
        public var batchID: Int64
        public var target: NodeID
        public var channel: String
        public var count: Int
    }

    static func create(_ tx: any SQLExecutor, target: NodeID, channel: String, changeIDs: [Int64]) async throws {
        let insert: SQL = """
            INSERT INTO tributary_outgoing_batch (target_node, channel, status, change_count, created_at)
            VALUES (\(target.rawValue), \(channel), 'pending', \(changeIDs.count), \(SQLValue.datetime(Clock.nowText())))
            """
        let batchID: Int64?
        switch tx.syntax {
        case .postgres: batchID = try await tx.scalar(insert + " RETURNING batch_id").int64
        case .mysql:
            try await tx.execute(insert)
            batchID = try await tx.scalar("SELECT LAST_INSERT_ID()").int64
        case .sqlite:
            try await tx.execute(insert)
            batchID = try await tx.scalar("SELECT last_insert_rowid()").int64
        }
        guard let batchID else { throw SyncError.protocolError("could not create an outgoing batch") }
        for chunk in changeIDs.chunked(500) {
            let values = SQL.join(chunk.map { "(\(batchID), \($0))" }, separator: ", ")
            try await tx.execute("INSERT INTO tributary_outgoing_change (batch_id, change_id) VALUES \(values)")
        }
    }

    /// Channels in the order their batches go: what others reference goes first
    /// (clinical rows reference metadata, never the other way round).
    public static func priority(of channel: String) -> Int {
        switch channel {
        case "config": 0
        case "metadata": 1
        case "clinical": 2
        default: 3
        }
    }

    /// Pending batches for a target, by channel priority, then oldest first.
    public static func pending(_ db: any SQLExecutor, target: NodeID, excluding channels: Set<String> = []) async throws -> [Pending] {
        try await db.query("""
            SELECT batch_id, channel, change_count FROM tributary_outgoing_batch
            WHERE target_node = \(target.rawValue) AND status = 'pending' ORDER BY batch_id
            """).compactMap { row -> Pending? in
            guard let id = row.int("batch_id"), let channel = row.string("channel"), !channels.contains(channel) else { return nil }
            return Pending(batchID: id, target: target, channel: channel, count: Int(row.int("change_count") ?? 0))
        }.sorted { (priority(of: $0.channel), $0.batchID) < (priority(of: $1.channel), $1.batchID) }
    }

    public static func pendingCount(_ db: any SQLExecutor) async throws -> Int64 {
        try await db.scalar("SELECT COUNT(*) FROM tributary_outgoing_batch WHERE status = 'pending'").int64 ?? 0
    }

    /// The captured changes of one batch, in capture order.
    public static func changes(_ db: any SQLExecutor, batchID: Int64) async throws -> [CapturedChange] {
        try await db.query("""
            SELECT c.change_id, c.table_name, c.operation, c.pk, c.new_row, c.old_row, c.captured_at, c.transaction_id,
                   c.source_node, c.origin_node, c.origin_time, c.target_node, c.forced
            FROM tributary_change c JOIN tributary_outgoing_change o ON o.change_id = c.change_id
            WHERE o.batch_id = \(batchID) ORDER BY c.change_id
            """).map(ChangeLog.decode)
    }

    /// Records the target's answer. Returns false when the batch is unknown or not the target's.
    @discardableResult
    public static func record(_ db: any SQLExecutor, ack: Ack, from target: NodeID) async throws -> Bool {
        let now = SQLValue.datetime(Clock.nowText())
        switch ack.status {
        case .applied:
            return try await db.execute("""
                UPDATE tributary_outgoing_batch SET status = 'acked', acked_at = \(now), error = NULL
                WHERE batch_id = \(ack.batchID) AND target_node = \(target.rawValue)
                """) > 0
        case .failed:
            let cause = ack.failure.map { [$0.table, $0.key, $0.cause].compactMap { $0 }.joined(separator: " | ") } ?? "failed"
            return try await db.execute("""
                UPDATE tributary_outgoing_batch SET error = \(cause), send_count = send_count + 1, last_sent_at = \(now)
                WHERE batch_id = \(ack.batchID) AND target_node = \(target.rawValue) AND status = 'pending'
                """) > 0
        }
    }
}
