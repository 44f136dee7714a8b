import TributaryCore
import TributarySQL

/// How deep each node whose changes passed through here sits in the tree, as their changes
/// reported it: parent-wins and child-wins compare the depths of two versions' origins.
enum OriginDepths {
    static func read(_ db: any SQLExecutor) async throws -> [String: Int] {
        var depths: [String: Int] = [:]
        for row in try await db.query("SELECT node_id, depth FROM tributary_origin") {
            if let node = row.string("node_id"), let depth = row.int("depth") { depths[node] = Int(depth) }
        }
        return depths
    }

    static func depth(of node: String, known: [String: Int], local: (node: NodeID, depth: Int?)) -> Int? {
        node == local.node.rawValue ? local.depth : known[node]
    }

    /// Notes the depths a batch's changes carry that are not known yet (or changed).
    static func record(_ changes: [WireChange], known: inout [String: Int], tx: any SQLExecutor) async throws {
        var reported: [String: Int] = [:]
        for change in changes { if let depth = change.originDepth { reported[change.originNode.rawValue] = depth } }
        for (node, depth) in reported.sorted(by: { $0.key < $1.key }) where known[node] != depth {
            try await tx.execute("DELETE FROM tributary_origin WHERE node_id = \(node)")
            try await tx.execute("INSERT INTO tributary_origin (node_id, depth) VALUES (\(node), \(depth))")
            known[node] = depth
        }
    }
}
