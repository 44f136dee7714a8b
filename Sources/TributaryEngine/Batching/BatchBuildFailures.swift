import TributaryCore
import TributarySQL

/// A batch this node cannot build (a reference it cannot translate, a row image it cannot
/// read) stops its own channel only: the error is recorded on the batch and logged, and the
/// other channels, and the pull that follows, go on.
extension SyncNode {
    /// Records why `pending` could not be built; it stays pending and is tried again next round.
    public func recordBuildFailure(_ pending: OutgoingBatches.Pending, _ error: any Error) async {
        logger.error("batch could not be built; its channel waits", metadata: [
            "batch": "\(pending.batchID)", "target": "\(pending.target)", "channel": "\(pending.channel)", "cause": "\(error)"])
        retries.withLock { $0.failed(pending.batchID, at: Self.monotonicNow()) }
        _ = try? await database.execute("""
            UPDATE tributary_outgoing_batch SET error = \("could not be built: \(error)"), send_count = send_count + 1,
              last_sent_at = \(SQLValue.datetime(Clock.nowText()))
            WHERE batch_id = \(pending.batchID)
            """)
    }

    /// The first of `candidates` that builds, skipping the channel of any that does not.
    public func firstBuildable(_ candidates: some Sequence<OutgoingBatches.Pending>) async -> (OutgoingBatches.Pending, Batch)? {
        var failed = Set<String>()
        for pending in candidates where !failed.contains(pending.channel) {
            do {
                return (pending, try await batch(pending))
            } catch {
                await recordBuildFailure(pending, error)
                failed.insert(pending.channel)
            }
        }
        return nil
    }
}
