/// A lock shared by every process working on one database, held by one of them at a time:
/// PostgreSQL an advisory lock, MySQL/MariaDB `GET_LOCK`, SQLite a lock file beside the
/// database. The holder dying (kill -9) releases it with its connection or file.
public struct DatabaseLock: Sendable, Hashable {
    public let name: String

    public init(_ name: String) { self.name = name }

    /// Held while a process opens a node (migrations, trigger reconciliation), so that two
    /// commands opening a fresh database at once do not both create Tributary's tables.
    public static let opening = DatabaseLock("opening")
    /// Held by the one `start` process running a node; a second `start` waits as a standby.
    public static let active = DatabaseLock("active")
    /// Held for one routing pass, and for one incoming batch: `sync`, `import` or a second
    /// node object beside a running `start` never route or apply at the same moment as it.
    public static let routing = DatabaseLock("routing")
    public static let applying = DatabaseLock("applying")

    /// How long a waiting process sleeps between attempts.
    static let retryMilliseconds = 200
}

extension DatabaseLock {
    /// What a process does while another holds the lock: told how long it has waited before
    /// each pause (zero the first time); throwing gives up.
    public typealias Waiting = @Sendable (_ waited: Duration) throws -> Void

    /// Tries `attempt` until it takes the lock, calling `waiting` before each pause.
    public static func poll(waiting: Waiting, _ attempt: () async throws -> Bool) async throws {
        var start: ContinuousClock.Instant?
        while try await !attempt() {
            let now = ContinuousClock.now
            try waiting(start.map { now - $0 } ?? .zero)
            start = start ?? now
            try await Task.sleep(for: .milliseconds(retryMilliseconds))
        }
    }
}
