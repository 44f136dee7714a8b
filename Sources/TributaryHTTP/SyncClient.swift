import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import TributaryCore
import TributaryEngine

/// The child side of the node protocol. The child starts every exchange (clinics sit
/// behind NAT): it registers once, then each round pushes its batches and pulls its parent's.
public final class SyncClient: Sendable {
    let node: SyncNode
    let parentURL: String
    let http: HTTPClient
    let logger: Logger
    /// Bytes on the wire (compressed), for the benchmark and the status page.
    public let bytesSent = ByteCounter(), bytesReceived = ByteCounter()

    /// Called after each batch pushed or pulled with the round's counts so far (a terminal's progress line).
    let progress: (@Sendable (RoundReport) -> Void)?

    public init(node: SyncNode, parentURL: String, logger: Logger, progress: (@Sendable (RoundReport) -> Void)? = nil) {
        self.progress = progress
        self.node = node
        self.parentURL = parentURL.hasSuffix("/") ? String(parentURL.dropLast()) : parentURL
        var configuration = HTTPClient.Configuration()
        configuration.timeout.connect = .seconds(5)
        configuration.timeout.read = .seconds(120)
        self.http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        self.logger = logger
    }

    public func shutdown() async { try? await http.shutdown() }

    public struct RoundReport: Sendable, Hashable, CustomStringConvertible {
        public var pushed = 0, pushFailed = 0, pulled = 0, pullFailed = 0, rows = 0
        public var failures: [String] = []
        public var description: String {
            "pushed \(pushed) batch(es)\(pushFailed > 0 ? " (\(pushFailed) failed)" : ""), pulled \(pulled)\(pullFailed > 0 ? " (\(pullFailed) failed)" : ""), \(rows) change(s) applied here"
        }
    }

    public struct TransportError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Registers with the parent if this node has no credentials yet.
    public func ensureRegistered() async throws -> (parent: NodeID, secret: String) {
        if let credentials = try await node.credentials() { return credentials }
        let request = RegistrationRequest(nodeID: node.id, group: node.configuration.node.group,
                                          token: node.configuration.parent?.registrationToken, claim: try await node.registrationClaim())
        let (status, body) = try await send(.POST, Wire.register, body: .json(try JSONEncoder().encode(request)), authenticated: nil)
        if status == .accepted {
            try await node.setIdentity("registration", "pending approval at \(parentURL)")
            throw TransportError(description: "registration with \(parentURL) is waiting for approval: \(Self.message(body, status))")
        }
        guard status == .ok, let response = try? JSONDecoder().decode(RegistrationResponse.self, from: body) else {
            try? await node.setIdentity("registration", "refused by \(parentURL): \(Self.message(body, status))")
            throw TransportError(description: "registration with \(parentURL) refused: \(Self.message(body, status))")
        }
        try await node.storeCredentials(response)
        logger.info("registered with parent", metadata: ["parent": "\(response.parent)"])
        return (response.parent, response.secret)
    }

    /// One round: route, push every pending batch (a channel stops at its first failure),
    /// then pull and apply the parent's batches until it has none left.
    public func round() async throws -> RoundReport {
        let (parent, secret) = try await ensureRegistered()
        var report = RoundReport()
        let (settingsStatus, settingsBody) = try await send(.GET, Wire.settings, body: nil, authenticated: secret)
        guard settingsStatus == .ok, let settings = try? JSONDecoder().decode(SettingsDocument.self, from: settingsBody) else {
            throw TransportError(description: "reading table settings from \(parentURL) failed: \(Self.message(settingsBody, settingsStatus))")
        }
        try await node.adoptSettings(settings)
        try await node.route()
        var stopped = Set<String>()
        // One that failed lately waits out its back-off (`RetrySchedule`), holding its channel.
        let pendings = node.due(try await node.pending(for: parent))
        // The next batch is read, encoded and compressed while the parent applies this one.
        var next: (batchID: Int64, task: Task<ByteBuffer, any Error>)?
        defer { next?.task.cancel() }
        for (index, pending) in pendings.enumerated() where !stopped.contains(pending.channel) {
            var compressed: ByteBuffer?
            do {
                if let prefetched = next, prefetched.batchID == pending.batchID {
                    compressed = try await prefetched.task.value
                } else {
                    compressed = try await Self.pushBody(pending, node: node)
                }
            } catch {
                // Cannot be built here: its channel waits, the others and the pull go on.
                await node.recordBuildFailure(pending, error)
                report.pushFailed += 1
                report.failures.append("batch \(pending.batchID) could not be built here: \(error)")
                stopped.insert(pending.channel)
            }
            next?.task.cancel()
            next = nil
            guard let compressed else { continue }
            if let following = pendings[(index + 1)...].first(where: { !stopped.contains($0.channel) }) {
                let node = self.node
                next = (following.batchID, Task { try await Self.pushBody(following, node: node) })
            }
            let (status, body) = try await send(.POST, Wire.batches, body: .batch(compressed), authenticated: secret)
            guard status == .ok, let ack = try? JSONDecoder().decode(Ack.self, from: body) else {
                throw TransportError(description: "push of batch \(pending.batchID) to \(parentURL) failed: \(Self.message(body, status))")
            }
            try await node.record(ack, from: parent)
            report.pushed += 1
            progress?(report)
            if ack.status == .failed {
                report.pushFailed += 1
                report.failures.append("batch \(pending.batchID) failed at \(parent): \(ack.failure?.cause ?? "unknown cause")")
                stopped.insert(pending.channel)
            }
        }
        var excluded = Set<String>()
        // The parent reads and sends the next batches (`PullAhead`), and this node decodes
        // them, while the current one is applied; two bulk batches of one table are applied
        // together (`SyncNode.applyTogether`). Each acknowledgment travels while the next
        // batch is applied (one at a time, in order; a lost one only means the batch comes
        // again, applied once).
        let ahead = PullAhead { [self] excluded, after in
            try await self.pull(PullAhead.path(excluding: excluded, after: after), secret: secret)
        }
        var acknowledging: Task<Void, any Error>?
        defer { ahead.cancel() }
        while let batch = try await ahead.next() {
            var batches = [batch]
            if batch.header.bulk != nil, let partner = try await ahead.peek(), node.mayApplyTogether(batch, partner) {
                _ = try await ahead.next()
                batches.append(partner)
            }
            let acks = batches.count == 2 ? await node.applyTogether(batches[0], batches[1]) : [await node.apply(batch)]
            for (batch, ack) in zip(batches, acks) {
                try await acknowledging?.value
                acknowledging = Task { try await self.acknowledge(ack, secret: secret) }
                report.pulled += 1
                if ack.status == .failed {
                    report.pullFailed += 1
                    report.failures.append("batch \(batch.header.batchID) from \(parent) failed here: \(ack.failure?.cause ?? "unknown cause")")
                    excluded.insert(batch.header.channel)
                    ahead.restart(excluding: excluded)
                } else if !ack.duplicate {
                    report.rows += ack.applied
                }
                progress?(report)
            }
        }
        try await acknowledging?.value
        if excluded.isEmpty, report.pushFailed == 0 {
            try await node.advanceInitialLoad(parent: parent)
        }
        return report
    }

    /// The parent's next batch for this node (nil when it has none), decoded and checked.
    func pull(_ path: String, secret: String) async throws -> Batch? {
        let (status, body) = try await send(.GET, path, body: nil, authenticated: secret)
        if status == .noContent { return nil }
        guard status == .ok else { throw TransportError(description: "pull from \(parentURL) failed: \(Self.message(body, status))") }
        let batch = try BatchCodec.decode(body)
        guard batch.header.target == node.id else {
            throw TransportError(description: "the parent sent batch \(batch.header.batchID) meant for \(batch.header.target)")
        }
        return batch
    }

    func acknowledge(_ ack: Ack, secret: String) async throws {
        let (status, body) = try await send(.POST, Wire.acks, body: .json(try JSONEncoder().encode(ack)), authenticated: secret)
        guard status == .noContent || status == .ok else {
            throw TransportError(description: "acknowledging batch \(ack.batchID) failed: \(Self.message(body, status))")
        }
    }

    /// A batch as it goes on the wire: read, encoded, compressed.
    static func pushBody(_ pending: OutgoingBatches.Pending, node: SyncNode) async throws -> ByteBuffer {
        try BodyCompression.compress(try BatchCodec.encode(try await node.batch(pending)))
    }

    /// A request body: a JSON document, or a batch already compressed (`pushBody`).
    enum Body {
        case json(Data)
        case batch(ByteBuffer)
    }

    func send(_ method: HTTPMethod, _ path: String, body: Body?, authenticated secret: String?) async throws -> (HTTPResponseStatus, Data) {
        var request = HTTPClientRequest(url: parentURL + path)
        request.method = method
        request.headers.add(name: "X-Tributary-Node", value: node.id.rawValue)
        if let secret { request.headers.add(name: "Authorization", value: "Bearer \(secret)") }
        request.headers.add(name: "Accept-Encoding", value: BodyCompression.gzip)
        switch body {
        case nil: break
        case .json(let document):
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: document))
        case .batch(let compressed):
            request.headers.add(name: "Content-Type", value: "application/x-ndjson")
            request.headers.add(name: "Content-Encoding", value: BodyCompression.gzip)
            bytesSent.add(compressed.readableBytes)
            request.body = .bytes(compressed)
        }
        do {
            let response = try await http.execute(request, timeout: .seconds(300))
            let raw = try await response.body.collect(upTo: Wire.maxBody)
            bytesReceived.add(raw.readableBytes)
            let data = response.headers["Content-Encoding"].first == BodyCompression.gzip
                ? try BodyCompression.decompress(raw, limit: Wire.maxBody) : Data(buffer: raw)
            return (response.status, data)
        } catch let error as TransportError {
            throw error
        } catch {
            throw TransportError(description: "cannot reach parent at \(parentURL): \(error)")
        }
    }

    static func message(_ body: Data, _ status: HTTPResponseStatus) -> String {
        if let error = try? JSONDecoder().decode(Wire.ErrorBody.self, from: body) { return "\(status.code) \(error.error)" }
        return "\(status.code) \(String(decoding: body.prefix(200), as: UTF8.self))"
    }
}
