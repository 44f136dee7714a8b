import TributaryCore
import TributarySQL

/// Every change carries its own origin stamp, and the triggers take the stamp from the loader's
/// mark. Marking before every change would cut a batch into one-row statements (two round trips
/// a row), so a change to a row the batch has not touched yet is written under the current mark
/// and its captured change gets its own stamp afterwards, one statement per table. The row is
/// named by its uuid, or for a parent-keyed table (`patient`) by its local key value.
final class StampFixes {
    let dialect: any CaptureDialect
    let source: String
    /// The change log's end when the batch began, then at the last flush: only what this batch
    /// captured since is read (a waiting stamp's row is written after its stamp is noted, and
    /// every flush follows the write of the rows noted before it).
    private(set) var after: Int64
    private var pending: [String: [OriginFix]] = [:]
    private var matches: [String: StampMatch] = [:]
    private var pendingKeys: [String: Set<String>] = [:]
    private var touched: [String: Set<String>] = [:]
    /// Stays well under every dialect's limit on bound values per statement.
    static let chunk = 1_000

    init(dialect: any CaptureDialect, source: String, after: Int64) {
        self.dialect = dialect
        self.source = source
        self.after = after
    }

    /// Notes that the batch writes this row; true the first time (only then may its stamp wait:
    /// a fix matches every change of the row captured since the batch began).
    func touch(_ table: String, _ value: String) -> Bool { touched[table, default: []].insert(value).inserted }

    func isPending(_ table: String, _ value: String) -> Bool { pendingKeys[table]?.contains(value) ?? false }

    func add(_ table: String, match: StampMatch, value: String, node: String, time: String) {
        pending[table, default: []].append(OriginFix(value: value, node: node, time: time))
        pendingKeys[table, default: []].insert(value)
        matches[table] = match
    }

    /// Writes the waiting stamps (before anything reads them: a conflict check, the commit).
    func flush(_ tx: any SQLExecutor) async throws {
        guard !pending.isEmpty else { return }
        // Both ends of the range: with one, a planner without statistics on the fast-growing
        // change log guessed a third of it and scanned it all (13 ms a statement at 50k rows).
        let upTo = try await tx.scalar("SELECT MAX(change_id) FROM tributary_change").int64 ?? after
        for (table, fixes) in pending.sorted(by: { $0.key < $1.key }) {
            for chunk in fixes.chunked(Self.chunk) {
                try await tx.execute(dialect.fixOrigins(table: table, source: source, after: after, upTo: upTo, match: matches[table] ?? .uuid, stamps: chunk))
            }
        }
        pending = [:]
        pendingKeys = [:]
        after = upTo
    }
}
