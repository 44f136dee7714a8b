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

    public init(enabled: Bool = true, channel: String = "default", direction: Direction = .both, initialLoad: Bool = true) {
        self.enabled = enabled
        self.channel = channel
        self.direction = direction
        self.initialLoad = initialLoad
    }
}
