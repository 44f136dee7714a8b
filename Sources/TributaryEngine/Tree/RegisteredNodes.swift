import TributaryCore
import TributarySQL

/// The children registered at this node (`tributary nodes`), and revoking one.
extension SyncNode {
    public struct RegisteredNode: Sendable, Hashable, Codable {
        public var node: String
        public var group: String
        public var registeredAt: String?
        public var lastContact: String?
        public var outgoingPending: Int64
        public var revoked: Bool
        public var revokedAt: String?

        enum CodingKeys: String, CodingKey {
            case node, group, registeredAt = "registered_at", lastContact = "last_contact", outgoingPending = "outgoing_pending"
            case revoked, revokedAt = "revoked_at"
        }
    }

    public func registeredNodes() async throws -> [RegisteredNode] {
        var nodes: [RegisteredNode] = []
        for row in try await database.query("SELECT node_id, node_group, registered_at, last_contact, revoked_at FROM tributary_node ORDER BY node_id") {
            let id = row.string("node_id") ?? ""
            let revokedAt = ColumnKind.datetime.normalize(row["revoked_at"]).string
            nodes.append(RegisteredNode(
                node: id, group: row.string("node_group") ?? "",
                registeredAt: ColumnKind.datetime.normalize(row["registered_at"]).string,
                lastContact: ColumnKind.datetime.normalize(row["last_contact"]).string,
                outgoingPending: try await database.scalar(
                    "SELECT COUNT(*) FROM tributary_outgoing_batch WHERE status = 'pending' AND target_node = \(id)").int64 ?? 0,
                revoked: revokedAt != nil, revokedAt: revokedAt))
        }
        return nodes
    }

    /// Refuses `child`'s requests and bundles from now on; what waits for it stays pending, for
    /// a registration of the id again (with a token). False when no such child is registered here.
    @discardableResult
    public func revoke(_ child: NodeID) async throws -> Bool {
        let changed = try await database.execute("""
            UPDATE tributary_node SET revoked_at = \(SQLValue.datetime(Clock.nowText())) WHERE node_id = \(child.rawValue) AND revoked_at IS NULL
            """)
        if changed > 0 { logger.notice("node revoked: its requests are refused from now on", metadata: ["node": "\(child)"]) }
        if changed > 0 { return true }
        return try await !database.query("SELECT 1 FROM tributary_node WHERE node_id = \(child.rawValue)").isEmpty
    }
}
