import TributaryCore
import TributaryEngine

/// Where a transfer's time goes, without HTTP: routing, extraction, wire coding and loading,
/// batch by batch from `source` to `target` until nothing is pending.
public struct Phases: CustomStringConvertible, Sendable {
    public var route = Duration.zero, extract = Duration.zero, code = Duration.zero, load = Duration.zero

    public static func measure(from source: SyncNode, to target: SyncNode) async throws -> Phases {
        var phases = Phases()
        let clock = ContinuousClock()
        while true {
            phases.route += try await clock.measure { try await source.route() }
            guard let pending = try await source.pending(for: target.id).first else { return phases }
            var batch: Batch?
            phases.extract += try await clock.measure { batch = try await source.batch(pending) }
            var decoded: Batch?
            phases.code += try clock.measure { decoded = try BatchCodec.decode(try BatchCodec.encode(batch!)) }
            var ack: Ack?
            let took = await clock.measure { ack = await target.apply(decoded!) }
            phases.load += took
            if took > .milliseconds(100) { print("  slow batch \(decoded!.header.bulk?.table ?? decoded!.changes.first?.table ?? "?") \(decoded!.size) rows: \(took)") }
            try await source.record(ack!, from: target.id)
            if ack!.status == .failed { throw GeneratorError("batch \(pending.batchID) failed: \(ack!.failure?.cause ?? "")") }
        }
    }

    public var description: String { "route \(route), extract \(extract), encode+decode \(code), load \(load)" }
}
