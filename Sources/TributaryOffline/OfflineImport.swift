import Crypto
import Foundation
import TributaryCore
import TributaryEngine
import TributarySQL

extension OfflineExchange {
    /// Applies a bundle addressed to this node; with `answer`, writes the reply for its sender
    /// (acknowledgments and what is pending for it; for a registration, the credentials and the initial load).
    public func importBundle(_ path: String, answer: String? = nil) async throws -> ImportReport {
        let (header, headerLine) = try BundleReader.header(path)
        let sender = header.sender
        let links = try await node.links()
        let isFromParent: Bool
        let key: SymmetricKey
        var tokenKey: (SymmetricKey, String)?
        switch header.key {
        case "node":
            guard header.recipient == node.id else {
                throw BundleError("\(path) is addressed to \(header.recipient), not to this node (\(node.id)); nothing was applied")
            }
            if sender == links.parent, let (_, secret) = try await node.credentials() {
                key = try BundleFile.key(hex: Secrets.bundleKey(secret))
                isFromParent = true
            } else if let hex = try await node.database.scalar(
                "SELECT bundle_key FROM tributary_node WHERE node_id = \(sender.rawValue) AND revoked_at IS NULL").string {
                key = try BundleFile.key(hex: hex)
                isFromParent = false
            } else {
                throw BundleError("\(path) comes from \(sender), which is neither this node's parent nor a registered child; nothing was applied")
            }
        case "token":
            if header.recipient == node.id, let token = node.configuration.parent?.registrationToken {
                // The parent's answer to this node's registration.
                key = try BundleFile.key(hex: Secrets.bundleKey(token))
                isFromParent = true
            } else if header.recipient.rawValue.isEmpty {
                // A child's registration request: sealed with one of this node's registration tokens.
                guard let match = try await matchingToken(path, headerLine: headerLine) else {
                    throw BundleError("\(path): a registration from \(sender) that none of this node's registration tokens opens (a wrong token, or a damaged file); nothing was applied")
                }
                tokenKey = match
                key = match.0
                isFromParent = false
            } else {
                throw BundleError("\(path) is addressed to \(header.recipient), not to this node (\(node.id)); nothing was applied")
            }
        default:
            throw BundleError("\(path): unknown key kind '\(header.key)'")
        }
        if tokenKey != nil, answer == nil {
            throw BundleError("\(path) is a registration request from \(sender): import it with --answer FILE, which carries the node's credentials back; nothing was applied")
        }

        var report = ImportReport(path: path, sender: sender.rawValue)
        var registeredChild: RegistrationResponse?
        var complete = false
        var anyFailure = false
        try await BundleReader.records(path, headerLine: headerLine, key: key) { record in
            switch record.type {
            case .registrationRequest:
                guard let request = record.request, request.nodeID == sender, let (token) = tokenKey?.1 else { throw BundleError("\(path): a malformed registration request") }
                var withToken = request
                withToken.token = token
                switch try await node.register(withToken) {
                case .accepted(let response):
                    registeredChild = response
                    report.registered = "Registered \(sender); its credentials and initial load are in the answer."
                case .pending(let why), .refused(let why):
                    report.registered = "Registration of \(sender) not accepted: \(why)"
                }
            case .registrationAnswer:
                guard isFromParent, let response = record.answer else { throw BundleError("\(path): a registration answer from a node that is not this node's parent") }
                if try await node.credentials() == nil {
                    try await node.storeCredentials(response)
                    try await node.database.execute("""
                        UPDATE tributary_identity SET name = \("bundle_exported:" + response.parent.rawValue) WHERE name = 'bundle_exported:parent'
                        """)
                    report.registered = "Registered with \(response.parent)."
                }
            case .registrationRefused:
                report.registered = "The parent refused the registration: \(record.reason ?? "no reason given")"
            case .settings:
                if isFromParent, let settings = record.settings { try await node.adoptSettings(settings) }
            case .acks:
                for ack in record.acks ?? [] where ack.status == .applied {
                    if try await node.record(ack, from: sender) { report.acknowledged += 1 }
                }
            case .batch:
                guard let batch = record.batch else { return }
                guard batch.header.source == sender, batch.header.target == node.id else {
                    throw BundleError("\(path): batch \(batch.header.batchID) is from \(batch.header.source) to \(batch.header.target), not from \(sender) to \(node.id)")
                }
                report.batches += 1
                let ack = await node.apply(batch)
                if ack.status == .failed {
                    report.failed += 1
                    anyFailure = true
                    report.failures.append("batch \(batch.header.batchID): \(ack.failure?.cause ?? "unknown cause")")
                } else if ack.duplicate {
                    report.duplicates += 1
                } else {
                    report.applied += 1
                    report.rows += ack.applied
                }
                progress?("\(report.batches) batch(es), \(report.rows) change(s) applied")
            case .summary:
                complete = record.summary?.complete ?? false
            }
        }
        try await node.setIdentity("bundle_imported:" + sender.rawValue, "\(Clock.nowText()) \(path)")
        if isFromParent, complete, !anyFailure, let parent = try await node.credentials()?.parent {
            try await node.advanceInitialLoad(parent: parent)
        }
        if let answer {
            let peer = Peer(id: sender, key: tokenKey?.0 ?? key, keyKind: tokenKey == nil ? "node" : "token", isParent: isFromParent)
            if tokenKey != nil, registeredChild == nil {
                report.answer = try await writeRefusal(to: answer, for: sender, key: key, reason: report.registered ?? "refused")
            } else {
                report.answer = try await write(for: peer, to: answer, registrationAnswer: registeredChild)
            }
        }
        return report
    }

    func matchingToken(_ path: String, headerLine: Data) async throws -> (SymmetricKey, String)? {
        for token in node.configuration.registration?.tokens ?? [] {
            let key = try BundleFile.key(hex: Secrets.bundleKey(token))
            if (try? await BundleReader.chunks(path, headerLine: headerLine, key: key) { _ in }) != nil { return (key, token) }
        }
        return nil
    }

    func writeRefusal(to out: String, for peer: NodeID, key: SymmetricKey, reason: String) async throws -> ExportReport {
        let header = BundleHeader(format: 1, bundleID: UUID().uuidString.lowercased(), sender: node.id,
                                  recipient: peer, createdAt: Clock.nowText(), key: "token")
        let writer = try BundleWriter(path: Self.bundlePath(out, sender: node.id, recipient: peer, id: header.bundleID), header: header, key: key)
        var record = BundleRecord(.registrationRefused)
        record.reason = reason
        try writer.append(record)
        try writer.finish()
        return ExportReport(path: writer.path, recipient: peer.rawValue)
    }
}
