import Foundation
import Logging
import TributaryCore
import TributaryEngine
import TributarySQL

/// Nodes on real databases, and a direct (in-process) delivery of batches between them.
struct TestTree {
    static func node(_ id: String, group: String, on kind: TestDatabase, contents: OpenMRSDatabaseLoader.Contents = .coreAndSampleData,
                     extra: String = "", before: String = "") async throws -> (SyncNode, TestNode) {
        let test = try await kind.fresh(contents)
        if !before.isEmpty { try test.client(before) }  // written before Tributary runs: not captured
        // The sample data's few rows go in bulk, as a large site's large tables do, unless a test says otherwise.
        var extra = extra
        if !extra.contains("bulk_min_rows") {
            extra = extra.contains("sync:\n") ? extra.replacingOccurrences(of: "sync:\n", with: "sync:\n  bulk_min_rows: 1\n") : extra + "sync:\n  bulk_min_rows: 1\n"
        }
        let yaml = "node:\n  id: \(id)\n  group: \(group)\ndatabase: \(test.url)\nregistration:\n  tokens: [\"test-token\"]\n" + extra
        var logger = Logger(label: "test.\(id)")
        logger.logLevel = .error
        let node = try await SyncNode.open(try NodeConfiguration.parse(yaml), logger: logger)
        return (node, test)
    }

    /// Registers `child` with `parent` without HTTP.
    static func link(child: SyncNode, to parent: SyncNode) async throws {
        guard case .accepted(let response) = try await parent.register(
            RegistrationRequest(nodeID: child.id, group: child.configuration.node.group, token: "test-token")) else {
            throw TestFailure("registration refused")
        }
        try await child.storeCredentials(response)
    }

    /// Routes at `from` and hands every pending batch for `to` over, in order, stopping a
    /// channel at its first failure. Returns the acks.
    @discardableResult
    static func deliver(from: SyncNode, to: SyncNode) async throws -> [Ack] {
        try await from.route()
        var acks: [Ack] = []
        var stopped = Set<String>()
        for pending in try await from.pending(for: to.id) where !stopped.contains(pending.channel) {
            let ack = await to.apply(try await from.batch(pending))
            try await from.record(ack, from: to.id)
            acks.append(ack)
            if ack.status == .failed { stopped.insert(pending.channel) }
        }
        return acks
    }

    /// Delivers both ways until nothing is pending.
    static func settle(_ child: SyncNode, _ parent: SyncNode, rounds: Int = 5) async throws {
        for _ in 0..<rounds {
            let up = try await deliver(from: child, to: parent)
            let down = try await deliver(from: parent, to: child)
            if up.isEmpty && down.isEmpty { return }
        }
    }

    nonisolated(unsafe) static var lastFailure = ""

    /// One child's round as the HTTP client does it: push, pull, then move its initial load on.
    @discardableResult
    static func round(_ child: SyncNode, _ parent: SyncNode) async throws -> Int {
        try await parent.refreshSettings()
        try await child.adoptSettings(parent.settingsDocument())
        let up = try await deliver(from: child, to: parent)
        let down = try await deliver(from: parent, to: child)
        for ack in up where ack.status == .failed { lastFailure += "\n at \(parent.id) from \(child.id): \(ack.failure?.cause ?? "")" }
        for ack in down where ack.status == .failed { lastFailure += "\n at \(child.id) from \(parent.id): \(ack.failure?.cause ?? "")" }
        if !up.contains(where: { $0.status == .failed }), !down.contains(where: { $0.status == .failed }) {
            try await child.advanceInitialLoad(parent: parent.id)
        }
        return up.count + down.count
    }

    /// Rounds over every (child, parent) link, children first, until a full pass moves nothing.
    static func quiesce(_ links: [(SyncNode, SyncNode)], passes: Int = 12) async throws {
        for _ in 0..<passes {
            lastFailure = ""
            var moved = 0
            for (child, parent) in links { moved += try await round(child, parent) }
            for (child, parent) in links.reversed() { moved += try await round(child, parent) }
            if moved == 0 { return }
        }
        throw TestFailure("the tree did not quiesce in \(passes) passes; last failure: \(lastFailure)")
    }

    /// Changes a node applied that it had made itself: an echo.
    static func echoes(at node: SyncNode) async throws -> Int64 {
        try await node.database.scalar("SELECT COUNT(*) FROM tributary_change WHERE source_node IS NOT NULL AND origin_node = \(node.id.rawValue)").int64 ?? -1
    }
}
