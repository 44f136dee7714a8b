/// Which way a table's changes flow in the tree.
public enum Direction: String, Sendable, Codable, CaseIterable {
    /// From children to their parent only.
    case up
    /// From a parent to its children only.
    case down
    case both

    public var flowsUp: Bool { self != .down }
    public var flowsDown: Bool { self != .up }
}

/// How a table's settings say it should be synchronized.
public struct TableSetting: Sendable, Hashable, Codable {
    public var enabled: Bool
    public var channel: String
    public var direction: Direction
    public var initialLoad: Bool
    public var policy: ConflictPolicy

    public init(enabled: Bool = true, channel: String = "default", direction: Direction = .both, initialLoad: Bool = true,
                policy: ConflictPolicy = .newerWins) {
        self.enabled = enabled
        self.channel = channel
        self.direction = direction
        self.initialLoad = initialLoad
        self.policy = policy
    }

    enum CodingKeys: String, CodingKey { case enabled, channel, direction, initialLoad, policy }

    /// A document from a node that predates a key takes its default.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        enabled = try c.decodeIfPresent(Bool.self, forKey: .enabled) ?? true
        channel = try c.decodeIfPresent(String.self, forKey: .channel) ?? "default"
        direction = try c.decodeIfPresent(Direction.self, forKey: .direction) ?? .both
        initialLoad = try c.decodeIfPresent(Bool.self, forKey: .initialLoad) ?? true
        policy = try c.decodeIfPresent(ConflictPolicy.self, forKey: .policy) ?? .newerWins
    }
}
