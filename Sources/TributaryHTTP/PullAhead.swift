import TributaryCore

/// The parent's next batches, fetched and decoded ahead of their application, in order: each
/// asks for the batch after the one before it (`after=`), since those are not acknowledged
/// yet. Two are held ahead behind a bulk batch (the next may be applied with it), one
/// otherwise (a batch of changes is held at several times the size of its rows). Driven by
/// one task (the pull loop).
final class PullAhead: @unchecked Sendable {
    typealias Fetch = @Sendable (_ excluded: Set<String>, _ after: Int64?) async throws -> Batch?
    private let fetch: Fetch
    private var excluded: Set<String> = []
    private var ahead: [Task<Batch?, any Error>] = []
    private var lastTaken: Int64?
    private var depth = 1

    init(fetch: @escaping Fetch) {
        self.fetch = fetch
    }

    /// The next batch; nil when the parent has none left.
    func next() async throws -> Batch? {
        fill()
        let batch = try await ahead.removeFirst().value
        guard let batch else { cancel(); return nil }
        lastTaken = batch.header.batchID
        depth = batch.header.bulk != nil ? 2 : 1
        fill()
        return batch
    }

    /// The batch `next` will return, waiting for it.
    func peek() async throws -> Batch? {
        fill()
        return try await ahead[0].value
    }

    /// After a failure: what was fetched may follow the failed batch in its channel, so ask
    /// again from the start, that channel left out.
    func restart(excluding channels: Set<String>) {
        cancel()
        excluded = channels
        lastTaken = nil
        depth = 1
    }

    func cancel() {
        for task in ahead { task.cancel() }
        ahead = []
    }

    private func fill() {
        while ahead.count < depth {
            let previous = ahead.last, after = lastTaken, excluded = self.excluded, fetch = self.fetch
            ahead.append(Task {
                guard let previous else { return try await fetch(excluded, after) }
                guard let before = try await previous.value else { return nil }
                return try await fetch(excluded, before.header.batchID)
            })
        }
    }

    /// The pull request's path.
    static func path(excluding channels: Set<String>, after: Int64?) -> String {
        var query: [String] = []
        if !channels.isEmpty { query.append("exclude=" + channels.sorted().joined(separator: ",")) }
        if let after { query.append("after=\(after)") }
        return Wire.batches + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
    }
}
