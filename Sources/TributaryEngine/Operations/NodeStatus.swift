import TributaryCore
import TributarySQL

/// What `tributary status` reports about a node.
public struct NodeStatus: Sendable, Codable {
    public struct Child: Sendable, Codable {
        public var node: String
        public var group: String
        public var lastContact: String?
        public var outgoingPending: Int64
        enum CodingKeys: String, CodingKey { case node, group, lastContact = "last_contact", outgoingPending = "outgoing_pending" }
    }

    /// A peer reached by bundle files: what went each way last, and what waits for its answer.
    public struct OfflinePeer: Sendable, Codable {
        public var node: String
        public var lastExport: String?
        public var lastImport: String?
        public var oldestUnacknowledged: String?
        enum CodingKeys: String, CodingKey {
            case node, lastExport = "last_export", lastImport = "last_import", oldestUnacknowledged = "oldest_unacknowledged"
        }
    }

    public var node: String
    public var group: String
    public var database: String
    public var registered: Bool
    public var parent: String?
    public var outgoingPending: Int64
    public var incomingErrors: Int64
    public var lastIncomingError: String?
    public var conflicts: Int64
    /// Conflicts parked by `manual`, waiting for a person's decision.
    public var conflictsPending: Int64
    public var capturedChanges: Int64
    public var routedThrough: Int64
    public var children: [Child]
    /// The child's registration with its parent: accepted, pending approval, refused (with why).
    public var registration: String?
    /// receiving, sending or done; nil on the root.
    public var initialLoad: String?
    /// References of loaded rows still waiting for their row to arrive.
    public var pendingReferences: Int64
    /// Registration requests from children waiting for an administrator here.
    public var registrationsWaiting: Int64
    public var offlinePeers: [OfflinePeer]
    /// Rows in the change log now.
    public var changeLogRows: Int64
    /// How long the oldest gap in the change log has been waiting for its transaction (null: none).
    public var oldestOpenGapSeconds: NullableInt
    /// Each batch that fails, once, with how often and since when (`FailingBatch`).
    public var failingBatches: [FailingBatch]

    enum CodingKeys: String, CodingKey {
        case node, group, database, registered, parent, conflicts, conflictsPending = "conflicts_pending", children, registration
        case initialLoad = "initial_load", pendingReferences = "pending_references", registrationsWaiting = "registrations_waiting", offlinePeers = "offline_peers"
        case outgoingPending = "outgoing_pending", incomingErrors = "incoming_errors", lastIncomingError = "last_incoming_error"
        case capturedChanges = "captured_changes", routedThrough = "routed_through"
        case changeLogRows = "change_log_rows", oldestOpenGapSeconds = "oldest_open_gap_seconds", failingBatches = "failing_batches"
    }

    public static func read(_ node: SyncNode) async throws -> NodeStatus {
        let db = node.database
        let credentials = try await node.credentials()
        let hasParent = node.configuration.parent != nil
        let children = try await db.query("SELECT node_id, node_group, last_contact FROM tributary_node ORDER BY node_id")
        var childStatus: [Child] = []
        for row in children {
            let id = row.string("node_id") ?? ""
            childStatus.append(Child(
                node: id, group: row.string("node_group") ?? "",
                lastContact: ColumnKind.datetime.normalize(row["last_contact"]).string,
                outgoingPending: try await db.scalar("SELECT COUNT(*) FROM tributary_outgoing_batch WHERE status = 'pending' AND target_node = \(id)").int64 ?? 0))
        }
        let lastError = try await db.query("""
            SELECT cause FROM tributary_incoming_error WHERE resolved = \(false) ORDER BY error_id DESC LIMIT 1
            """).first?.string("cause")
        return NodeStatus(
            node: node.id.rawValue, group: node.configuration.node.group,
            database: (try? DatabaseURL(node.configuration.database).description) ?? "",
            registered: !hasParent || credentials != nil, parent: credentials?.parent.rawValue,
            outgoingPending: try await OutgoingBatches.pendingCount(db),
            incomingErrors: try await db.scalar("SELECT COUNT(*) FROM tributary_incoming_error WHERE resolved = \(false)").int64 ?? 0,
            lastIncomingError: lastError, conflicts: try await db.scalar("SELECT COUNT(*) FROM tributary_conflict").int64 ?? 0,
            conflictsPending: try await db.scalar("SELECT COUNT(*) FROM tributary_conflict WHERE decision = 'pending'").int64 ?? 0,
            capturedChanges: try await ChangeLog.count(db),
            routedThrough: try await db.scalar("SELECT last_change_id FROM tributary_router WHERE id = 1").int64 ?? 0,
            children: childStatus,
            registration: try await node.identity("registration"),
            initialLoad: try await node.identity("initial_load"),
            pendingReferences: try await PendingReferences.count(db),
            registrationsWaiting: try await db.scalar("SELECT COUNT(*) FROM tributary_registration WHERE status = 'pending'").int64 ?? 0,
            offlinePeers: try await offlinePeers(db),
            changeLogRows: try await db.scalar("SELECT COUNT(*) FROM tributary_change").int64 ?? 0,
            oldestOpenGapSeconds: NullableInt(try await oldestGap(db)),
            failingBatches: try await FailingBatch.read(db))
    }

    static func oldestGap(_ db: any SQLExecutor) async throws -> Int? {
        let tracker = try await Router.loadTracker(db, locking: false)
        return tracker.oldestGapAge(now: try await Router.clock(db)).map { Int($0) }
    }

    static func offlinePeers(_ db: any SQLExecutor) async throws -> [OfflinePeer] {
        var peers: [String: OfflinePeer] = [:]
        for row in try await db.query("SELECT name, value FROM tributary_identity WHERE name LIKE 'bundle_%'") {
            guard let name = row.string("name"), let value = row.string("value"), let colon = name.firstIndex(of: ":") else { continue }
            let peer = String(name[name.index(after: colon)...])
            var entry = peers[peer] ?? OfflinePeer(node: peer)
            if name.hasPrefix("bundle_exported") { entry.lastExport = value } else { entry.lastImport = value }
            peers[peer] = entry
        }
        for (peer, var entry) in peers {
            entry.oldestUnacknowledged = ColumnKind.datetime.normalize(try await db.scalar("""
                SELECT MIN(created_at) FROM tributary_outgoing_batch WHERE target_node = \(peer) AND status = 'pending'
                """)).string
            peers[peer] = entry
        }
        return peers.values.sorted { $0.node < $1.node }
    }
}

/// An integer that is written as JSON `null` when absent, where the key must always be there.
public struct NullableInt: Sendable, Codable, Equatable {
    public var value: Int?
    public init(_ value: Int?) { self.value = value }
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        value = container.decodeNil() ? nil : try container.decode(Int.self)
    }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let value { try container.encode(value) } else { try container.encodeNil() }
    }
}
