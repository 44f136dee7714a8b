import TributaryCore

/// Where changes can go from this node: its parent (if any) and its registered children.
public struct Links: Sendable, Hashable {
    public var parent: NodeID?
    public var children: [NodeID]

    public init(parent: NodeID?, children: [NodeID]) {
        self.parent = parent
        self.children = children
    }
}

/// Routing is a pure function: up to the parent when the table flows up, down to the
/// children when it flows down, and never back to the node the change came from.
/// A snapshot row addressed to one node (initial load, reload) goes to that node only,
/// when it is still linked and the table flows that way.
public func targets(source: NodeID?, setting: TableSetting, links: Links, addressedTo: NodeID? = nil) -> Set<NodeID> {
    guard setting.enabled else { return [] }
    if let addressedTo {
        if addressedTo == links.parent, setting.direction.flowsUp { return [addressedTo] }
        if links.children.contains(addressedTo), setting.direction.flowsDown { return [addressedTo] }
        return []
    }
    var targets = Set<NodeID>()
    if setting.direction.flowsUp, let parent = links.parent { targets.insert(parent) }
    if setting.direction.flowsDown { targets.formUnion(links.children) }
    if let source { targets.remove(source) }
    return targets
}

/// Remembers change ids that were skipped because their transaction had not committed
/// when higher ids were routed (PostgreSQL and MariaDB take ids at insert, not commit).
/// A gap is looked for again on every pass until it fills or expires (a rolled-back
/// transaction leaves a gap that never fills).
public struct GapTracker: Sendable, Hashable, Codable {
    public var lastID: Int64
    /// Missing id → when it was first seen missing (seconds since 1970).
    public var gaps: [Int64: Double]

    public init(lastID: Int64 = 0, gaps: [Int64: Double] = [:]) {
        self.lastID = lastID
        self.gaps = gaps
    }

    /// Records the ids a pass read (ascending) and drops gaps older than `timeout` seconds.
    public mutating func observe(_ ids: [Int64], now: Double, timeout: Double) {
        var expected = lastID + 1
        for id in ids {
            if gaps.removeValue(forKey: id) != nil { continue }
            guard id > lastID else { continue }
            while expected < id {
                gaps[expected] = now
                expected += 1
            }
            expected = id + 1
            lastID = id
        }
        gaps = gaps.filter { now - $0.value < timeout }
    }
}

/// Cuts a run of routed changes into batches of at most `maxCount` changes and, past the
/// first change of a batch, at most `maxBytes` of row images: one huge row still travels,
/// alone if need be.
public enum BatchCutter {
    public static func cut(_ ids: [Int64], sizes: [Int64], maxCount: Int, maxBytes: Int64) -> [[Int64]] {
        var batches: [[Int64]] = []
        var current: [Int64] = []
        var bytes: Int64 = 0
        for (id, size) in zip(ids, sizes) {
            if !current.isEmpty, current.count >= maxCount || bytes + size > maxBytes {
                batches.append(current)
                current = []
                bytes = 0
            }
            current.append(id)
            bytes += size
        }
        if !current.isEmpty { batches.append(current) }
        return batches
    }
}
