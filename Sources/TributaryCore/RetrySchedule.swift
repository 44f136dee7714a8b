/// When a batch that failed is tried again: after 1 s, then twice as long after each further
/// failure, up to `ceiling` (10 min). A batch failing for good (a reference that resolves
/// nowhere) was tried, and recorded, every interval: about 86,000 times a day at 1 s.
/// Pure: times are seconds on any monotonic clock the caller keeps.
public struct RetrySchedule: Sendable {
    public static let ceiling: Double = 600

    struct Entry: Sendable { var failures: Int; var retryAt: Double }
    private var entries: [Int64: Entry] = [:]
    /// The first wait, in seconds (tests on a slow machine lengthen it).
    public var base: Double

    public init(base: Double = 1) { self.base = base }

    public static func delay(afterFailures failures: Int, base: Double = 1) -> Double {
        guard failures > 0 else { return 0 }
        var delay = base
        for _ in 1..<min(failures, 32) { delay *= 2 }
        return min(ceiling, delay)
    }

    /// Records a failure of `batch` at `now`; returns when it is due again.
    @discardableResult
    public mutating func failed(_ batch: Int64, at now: Double) -> Double {
        let failures = (entries[batch]?.failures ?? 0) + 1
        let retryAt = now + Self.delay(afterFailures: failures, base: base)
        entries[batch] = Entry(failures: failures, retryAt: retryAt)
        return retryAt
    }

    public mutating func succeeded(_ batch: Int64) { entries.removeValue(forKey: batch) }

    public func isDue(_ batch: Int64, at now: Double) -> Bool { (entries[batch]?.retryAt ?? 0) <= now }

    public func failures(of batch: Int64) -> Int { entries[batch]?.failures ?? 0 }

    /// What may be tried at `now`, in order: a batch not due holds back the rest of its channel
    /// (a channel's batches apply in order).
    public func due<T>(_ batches: [T], at now: Double, id: (T) -> Int64, channel: (T) -> String) -> [T] {
        var held = Set<String>()
        return batches.filter { batch in
            let name = channel(batch)
            if held.contains(name) { return false }
            if isDue(id(batch), at: now) { return true }
            held.insert(name)
            return false
        }
    }
}
