/// Where a version of a row comes from: the node that made the change and when.
public struct OriginStamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var time: String
    public var node: String

    public init(time: String, node: String) {
        self.time = time
        self.node = node
    }

    /// Later time first; the same time is broken by node id, so every node orders two
    /// versions the same way.
    public static func < (a: OriginStamp, b: OriginStamp) -> Bool { (a.time, a.node) < (b.time, b.node) }
    public var description: String { "\(node) at \(time)" }
}

/// `newer-wins`: the version with the later origin stamp stays. A pure function of the two
/// versions, so the nodes that meet the same conflict from opposite sides agree.
public enum NewerWins {
    public enum Decision: String, Sendable { case incoming, local }

    /// `local` is nil when the row's version here predates capture: the incoming change wins.
    public static func decide(local: OriginStamp?, incoming: OriginStamp) -> Decision {
        guard let local else { return .incoming }
        return incoming > local ? .incoming : .local
    }
}
