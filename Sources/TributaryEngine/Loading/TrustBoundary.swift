import Foundation
import TributaryCore

/// What a sender may send this node, decided from facts this node holds, never from the
/// batch: a stolen clinic laptop or a modified binary must not rewrite down-only tables,
/// win every conflict with a time in 9999, speak for another node, or claim to be the root.
/// Pure: the facts are read once per batch (`SyncNode.trustBoundary(for:)`).
public struct TrustBoundary: Sendable {
    public struct Facts: Sendable {
        public var local: NodeID
        public var localDepth: Int?
        public var parent: NodeID?
        /// The nodes registered here as children.
        public var children: Set<NodeID>
        /// "table key" of each row with a conflict recorded here: what a child's decision may force.
        public var conflictedRows: Set<String>
        /// Origin times later than this are refused (now + `sync.clock_skew`).
        public var latestOriginTime: String

        public init(local: NodeID, localDepth: Int?, parent: NodeID?, children: Set<NodeID>,
                    conflictedRows: Set<String>, latestOriginTime: String) {
            self.local = local
            self.localDepth = localDepth
            self.parent = parent
            self.children = children
            self.conflictedRows = conflictedRows
            self.latestOriginTime = latestOriginTime
        }
    }

    public let facts: Facts
    public let settings: @Sendable (String) -> TableSetting?

    public init(facts: Facts, settings: @escaping @Sendable (String) -> TableSetting?) {
        self.facts = facts
        self.settings = settings
    }

    public static func rowName(table: String, key: WireKey) -> String { "\(table) \(WireValue.key(key))" }

    /// Why `change` from `sender` is refused here, or nil when it may be applied.
    public func refusal(of change: WireChange, from sender: NodeID) -> String? {
        let fromParent = sender == facts.parent
        guard fromParent || facts.children.contains(sender) else {
            return "\(sender) is neither this node's parent nor a child registered here"
        }
        if let setting = settings(change.table) {
            if !fromParent && !setting.direction.flowsUp {
                return "table \(change.table) flows \(setting.direction.rawValue) only: a child may not send it"
            }
            if fromParent && !setting.direction.flowsDown {
                return "table \(change.table) flows \(setting.direction.rawValue) only: the parent may not send it"
            }
        }
        if change.originTime > facts.latestOriginTime {
            return "origin time \(change.originTime) is in the future (later than \(facts.latestOriginTime), sync.clock_skew)"
        }
        guard !fromParent else { return nil }
        // From a child: its own changes and those of the nodes beneath it, nothing else.
        let origin = change.originNode
        if origin == facts.local || origin == facts.parent {
            return "origin \(origin) is \(origin == facts.local ? "this node" : "this node's parent"), not \(sender) or a node beneath it"
        }
        if origin != sender && facts.children.contains(origin) {
            return "origin \(origin) is another child of this node, not \(sender) or a node beneath it"
        }
        if let depth = change.originDepth, let localDepth = facts.localDepth {
            let expected = localDepth + 1
            if origin == sender ? depth != expected : depth <= expected {
                return "origin depth \(depth) for \(origin): a node beneath this one (depth \(localDepth)) is deeper"
                    + (origin == sender ? " (\(sender) is at \(expected))" : " than \(expected)")
            }
        }
        if change.forced && !facts.conflictedRows.contains(Self.rowName(table: change.table, key: change.key)) {
            return "a forced (decided) change from a child for a row with no conflict recorded here"
        }
        return nil
    }

    /// The first refused change of a batch, as a failure naming sender, table, sync key and rule.
    public func check(_ batch: Batch) -> Ack.Failure? {
        if let bulk = batch.header.bulk, batch.header.source != facts.parent {
            return Ack.Failure(table: bulk.table, key: nil,
                               cause: "refused from \(batch.header.source): bulk rows of \(bulk.table) come from the parent only")
        }
        for change in batch.changes {
            if let reason = refusal(of: change, from: batch.header.source) {
                return Ack.Failure(table: change.table, key: WireValue.key(change.key).description,
                                   cause: "refused from \(batch.header.source): \(change.operation) \(change.table) \(WireValue.key(change.key)): \(reason)")
            }
        }
        return nil
    }
}
