/// Where a version of a row comes from: the node that made the change, when, and how deep
/// that node sits in the tree (0 at the root; nil when not known).
public struct OriginStamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var time: String
    public var node: String
    public var depth: Int?

    public init(time: String, node: String, depth: Int? = nil) {
        self.time = time
        self.node = node
        self.depth = depth
    }

    /// Later time first; the same time is broken by node id, so every node orders two
    /// versions the same way. Depth is not part of the order (see `ConflictPolicy`).
    public static func < (a: OriginStamp, b: OriginStamp) -> Bool { (a.time, a.node) < (b.time, b.node) }
    public var description: String { "\(node) at \(time)" }
}

/// How a table's conflicts are decided. Set per table at the root; every node uses the same.
public enum ConflictPolicy: String, Sendable, Codable, CaseIterable {
    /// The version with the later origin time wins (ties: the greater origin node id).
    case newerWins = "newer-wins"
    /// The version made higher in the tree wins; at the same depth, the newer.
    case parentWins = "parent-wins"
    /// The version made lower in the tree wins; at the same depth, the newer.
    case childWins = "child-wins"
    /// The version here stays; the incoming one is parked until a person decides.
    case manual
}

/// Which version a policy keeps. A pure function of the two versions' stamps, so the nodes
/// that meet the same conflict from opposite sides, in any order, keep the same one.
public enum ConflictDecision: String, Sendable {
    case incoming, local
    /// `manual`: the local version stays for now, the incoming one waits for a person.
    case pending
}

public enum ConflictResolution {
    /// `local` is nil when the row's version here predates capture: nothing is known of it,
    /// so the incoming change wins (every node that knows the change takes it).
    public static func decide(_ policy: ConflictPolicy, local: OriginStamp?, incoming: OriginStamp) -> ConflictDecision {
        if policy == .manual { return .pending }
        guard let local else { return .incoming }
        if policy != .newerWins, let l = local.depth, let i = incoming.depth, l != i {
            let incomingHigher = i < l
            return (policy == .parentWins) == incomingHigher ? .incoming : .local
        }
        return incoming > local ? .incoming : .local
    }

    /// A delete against a concurrent update of the same row: the delete stays, under every
    /// policy but `manual`. Newer-wins cannot be applied here: a node that deleted the row no
    /// longer knows which of its columns are newer than an update that would bring it back,
    /// so a row brought back would differ from node to node (a seeded test found exactly that).
    /// OpenMRS voids rows rather than deleting them; a delete is a deliberate purge.
    public static func decideDeletion(_ policy: ConflictPolicy, deleteIsIncoming: Bool) -> ConflictDecision {
        if policy == .manual { return .pending }
        return deleteIsIncoming ? .incoming : .local
    }
}
