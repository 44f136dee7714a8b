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
/// A gap is looked for again on every pass until it fills, or until no transaction that
/// could fill it is open any more (a rolled-back transaction leaves a gap that never fills).
public struct GapTracker: Sendable, Hashable, Codable {
    public var lastID: Int64
    /// Missing id → when it was first seen missing (seconds since 1970, the database's clock).
    public var gaps: [Int64: Double]

    public init(lastID: Int64 = 0, gaps: [Int64: Double] = [:]) {
        self.lastID = lastID
        self.gaps = gaps
    }

    /// Records the ids a pass read (ascending); an id skipped is a gap from `now` on.
    public mutating func observe(_ ids: [Int64], now: Double) {
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
    }

    /// Gives up the gaps no transaction can fill any more and returns them; call it after the
    /// pass's rows were read (and `observe`d), with what the database reported at `checkedAt`,
    /// before those rows were read. An id missing when a gap was first seen was taken before
    /// then, by a transaction open then; if that transaction was no longer open at the check,
    /// it had ended, and its row (had it committed) was in what the pass read. So a gap seen
    /// before the check closes when every writing transaction open at the check began after
    /// the gap was seen, or none was open. Where the database cannot tell, after `timeout` seconds.
    public mutating func expire(_ open: OpenTransactions, checkedAt: Double, now: Double, timeout: Double) -> [Int64] {
        let given = gaps.filter { _, seen in
            guard seen < checkedAt else { return false }
            switch open {
            case .none: return true
            case .oldestStarted(let started): return started > seen
            case .unknown: return now - seen >= timeout
            }
        }.keys.sorted()
        for id in given { gaps.removeValue(forKey: id) }
        return given
    }

    /// Seconds the oldest gap has been open, if any.
    public func oldestGapAge(now: Double) -> Double? { gaps.values.min().map { now - $0 } }
}

/// The writing transactions open on a database other than the router's own, as the
/// database reports them when a routing pass begins.
public enum OpenTransactions: Sendable, Hashable {
    case none
    /// When the oldest began (seconds since 1970, the database's clock).
    case oldestStarted(Double)
    /// The database would not say (MariaDB without the PROCESS privilege).
    case unknown
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
