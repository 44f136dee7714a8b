import Crypto
import Foundation
import TributaryCore
import TributaryEngine
import TributarySQL

/// Sync by files. An export holds, for one peer, everything pending for it (resent until
/// acknowledged), acknowledgments of what came from it (cumulative, so a lost bundle is
/// repaired by the next), and at first contact a registration request or its answer. An
/// import checks the whole file first and applies nothing of a bundle that fails.
public struct OfflineExchange: Sendable {
    public let node: SyncNode
    let progress: (@Sendable (String) -> Void)?

    public init(node: SyncNode, progress: (@Sendable (String) -> Void)? = nil) {
        self.node = node
        self.progress = progress
    }

    public struct ExportReport: Sendable, CustomStringConvertible {
        public var path: String
        public var recipient: String
        public var batches = 0, rows = 0, acks = 0
        public var registration = false
        public var oldestUnacknowledged: String?
        public var description: String {
            var text = "Wrote \(path) for \(recipient.isEmpty ? "the parent" : recipient): \(batches) batch(es) with \(rows) change(s)"
            text += ", \(acks) acknowledgment(s)"
            if registration { text += ", and a registration request (the parent's answer brings the node's credentials and its initial load)" }
            text += "."
            if let oldest = oldestUnacknowledged { text += " Not yet acknowledged by \(recipient): batches since \(oldest); they go again in every bundle until an answer acknowledges them." }
            else if batches == 0 { text += " Nothing is waiting for an acknowledgment." }
            return text
        }
    }

    public struct ImportReport: Sendable, CustomStringConvertible {
        public var path: String
        public var sender: String
        public var batches = 0, applied = 0, duplicates = 0, failed = 0, rows = 0, acknowledged = 0
        public var registered: String?
        public var failures: [String] = []
        public var answer: ExportReport?
        public var description: String {
            var text = "Imported \(path) from \(sender): \(batches) batch(es), \(applied) applied with \(rows) change(s)"
            if duplicates > 0 { text += ", \(duplicates) already applied before (skipped)" }
            if failed > 0 { text += ", \(failed) failed (they come again in the sender's next bundle): \(failures.joined(separator: "; "))" }
            text += "; \(acknowledged) of this node's batches acknowledged."
            if let registered { text += " \(registered)" }
            if let answer { text += "\n" + answer.description }
            return text
        }
    }

    // MARK: export

    /// Writes a bundle for `peer` (a child), or for the parent when `peer` is nil. `out` may be
    /// a folder: the file is then named after sender, recipient and time.
    public func export(for peer: NodeID? = nil, to out: String) async throws -> ExportReport {
        let target = try await resolvePeer(peer)
        return try await write(for: target, to: out, registrationAnswer: nil)
    }

    struct Peer {
        var id: NodeID?  // nil: a parent not known yet (before registration)
        var key: SymmetricKey
        var keyKind: String
        var isParent: Bool
    }

    func resolvePeer(_ peer: NodeID?) async throws -> Peer {
        if let peer {
            guard let hex = try await node.database.scalar("SELECT bundle_key FROM tributary_node WHERE node_id = \(peer.rawValue)").string else {
                throw BundleError("\(peer) is not a registered child of \(node.id) (or registered before offline bundles existed; register it again)")
            }
            return Peer(id: peer, key: try BundleFile.key(hex: hex), keyKind: "node", isParent: false)
        }
        guard let parentConfig = node.configuration.parent else { throw BundleError("\(node.id) has no parent; use --for NODE to write a bundle for a child") }
        if let (parent, secret) = try await node.credentials() {
            return Peer(id: parent, key: try BundleFile.key(hex: Secrets.bundleKey(secret)), keyKind: "node", isParent: true)
        }
        guard let token = parentConfig.registrationToken, !token.isEmpty else {
            throw BundleError("\(node.id) is not registered yet and has no parent.registration_token to register with")
        }
        return Peer(id: nil, key: try BundleFile.key(hex: Secrets.bundleKey(token)), keyKind: "token", isParent: true)
    }

    func write(for peer: Peer, to out: String, registrationAnswer: RegistrationResponse?) async throws -> ExportReport {
        let header = BundleHeader(format: 1, bundleID: UUID().uuidString.lowercased(), sender: node.id,
                                  recipient: peer.id ?? NodeID(""), createdAt: Clock.nowText(), key: peer.keyKind)
        let path = Self.bundlePath(out, sender: node.id, recipient: peer.id, id: header.bundleID)
        let writer = try BundleWriter(path: path, header: header, key: peer.key)
        var report = ExportReport(path: path, recipient: peer.id?.rawValue ?? "")
        do {
            if let answer = registrationAnswer {
                var record = BundleRecord(.registrationAnswer)
                record.answer = answer
                try writer.append(record)
            }
            if let id = peer.id {
                if !peer.isParent {
                    var settings = BundleRecord(.settings)
                    settings.settings = node.settingsDocument()
                    try writer.append(settings)
                }
                var acks = BundleRecord(.acks)
                acks.acks = try await cumulativeAcks(from: id)
                report.acks = acks.acks?.count ?? 0
                try writer.append(acks)
                try await node.route()
                let pending = try await node.pending(for: id)
                for item in pending {
                    var record = BundleRecord(.batch)
                    let batch = try await node.batch(item)
                    record.batch = batch
                    try writer.append(record)
                    report.batches += 1
                    report.rows += batch.changes.count
                    progress?("\(report.batches)/\(pending.count) batch(es), \(report.rows) change(s)")
                }
                try await node.database.execute("""
                    UPDATE tributary_outgoing_batch SET send_count = send_count + 1, last_sent_at = \(SQLValue.datetime(Clock.nowText()))
                    WHERE target_node = \(id.rawValue) AND status = 'pending'
                    """)
                report.oldestUnacknowledged = try await oldestUnacknowledged(for: id)
            } else {
                var record = BundleRecord(.registrationRequest)
                record.request = RegistrationRequest(nodeID: node.id, group: node.configuration.node.group, token: nil,
                                                     claim: try await node.registrationClaim())
                try writer.append(record)
                report.registration = true
            }
            var summary = BundleRecord(.summary)
            summary.summary = BundleSummary(batches: report.batches, rows: report.rows, complete: true, oldestUnacknowledged: report.oldestUnacknowledged)
            try writer.append(summary)
            try writer.finish()
        } catch {
            writer.abandon()
            throw error
        }
        try await node.setIdentity("bundle_exported:" + (peer.id?.rawValue ?? "parent"), "\(header.createdAt) \(path)")
        return report
    }

    /// Acknowledgments of the batches received from `peer`: every one of the most recent
    /// thousands, so that an answer lost on the way is made good by the next.
    func cumulativeAcks(from peer: NodeID) async throws -> [Ack] {
        try await node.database.query("""
            SELECT batch_id, change_count FROM tributary_incoming_batch WHERE source_node = \(peer.rawValue)
            ORDER BY batch_id DESC LIMIT 5000
            """).compactMap { row in
            row.int("batch_id").map { Ack(batchID: $0, status: .applied, applied: Int(row.int("change_count") ?? 0), duplicate: false) }
        }
    }

    func oldestUnacknowledged(for peer: NodeID) async throws -> String? {
        ColumnKind.datetime.normalize(try await node.database.scalar("""
            SELECT MIN(created_at) FROM tributary_outgoing_batch WHERE target_node = \(peer.rawValue) AND status = 'pending'
            """)).string
    }

    static func bundlePath(_ out: String, sender: NodeID, recipient: NodeID?, id: String) -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: out, isDirectory: &isDirectory), isDirectory.boolValue else { return out }
        let stamp = Clock.nowText().replacingOccurrences(of: "-", with: "").replacingOccurrences(of: ":", with: "")
            .replacingOccurrences(of: " ", with: "-").prefix(15)
        return URL(fileURLWithPath: out).appendingPathComponent("\(sender)-to-\(recipient?.rawValue ?? "parent")-\(stamp)-\(id.prefix(6)).tributary").path
    }
}
