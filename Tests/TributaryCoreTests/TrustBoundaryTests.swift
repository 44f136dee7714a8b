import Testing
import TributaryCore
import TributaryEngine

/// What a sender may send, decided from the receiver's own facts (a district at depth 1,
/// under central, with clinics A and B).
@Suite struct TrustBoundaryTests {
    static let facts = TrustBoundary.Facts(
        local: "district", localDepth: 1, parent: "central", children: ["clinic-a", "clinic-b"],
        conflictedRows: [TrustBoundary.rowName(table: "obs", key: [.string("obs-1")])], latestOriginTime: "2026-12-03 12:10:00.000000")
    static let boundary = TrustBoundary(facts: facts) { table in
        switch table {
        case "concept": TableSetting(direction: .down)
        case "obs": TableSetting(direction: .both)
        case "report_queue": TableSetting(direction: .up)
        default: nil
        }
    }

    static func change(_ table: String = "obs", key: String = "obs-1", origin: NodeID = "clinic-a", time: String = "2026-12-03 12:00:00",
                       depth: Int? = 2, forced: Bool = false) -> WireChange {
        WireChange(table: table, operation: .update, key: [.string(key)], row: ["value_text": .string("x")], old: nil,
                   originNode: origin, originTime: time, originDepth: depth, forced: forced)
    }

    func refusal(_ change: WireChange, from sender: NodeID = "clinic-a") -> String? {
        Self.boundary.refusal(of: change, from: sender)
    }

    @Test func aChildsOwnChangeOfATableThatFlowsUpIsAccepted() {
        #expect(refusal(Self.change()) == nil)
        #expect(refusal(Self.change("report_queue")) == nil)
        // A grandchild's change relayed by its parent, deeper than the child.
        #expect(refusal(Self.change(origin: "clinic-a-annex", depth: 3)) == nil)
    }

    @Test func aChildMayNotSendADownOnlyTable() {
        #expect(refusal(Self.change("concept"))?.contains("flows down only") == true)
        #expect(refusal(Self.change("concept", forced: true)) != nil)
        // …and the parent may not send an up-only one.
        #expect(refusal(Self.change("report_queue", origin: "central", depth: 0), from: "central")?.contains("flows up only") == true)
        #expect(refusal(Self.change("concept", origin: "central", depth: 0), from: "central") == nil)
    }

    @Test func anOriginTimeInTheFutureIsRefusedFromAnyone() {
        #expect(refusal(Self.change(time: "9999-01-01 00:00:00"))?.contains("in the future") == true)
        #expect(refusal(Self.change(origin: "central", time: "9999-01-01 00:00:00", depth: 0), from: "central") != nil)
        #expect(refusal(Self.change(time: "2026-12-03 12:09:59.999999")) == nil)
    }

    @Test func aChildMaySpeakOnlyForItselfAndTheNodesBeneathIt() {
        #expect(refusal(Self.change(origin: "clinic-b"))?.contains("another child") == true)
        #expect(refusal(Self.change(origin: "central", depth: 0))?.contains("parent") == true)
        #expect(refusal(Self.change(origin: "district", depth: 1))?.contains("this node") == true)
        // From the parent, any origin: it relays the whole tree's changes.
        #expect(refusal(Self.change(origin: "clinic-elsewhere", depth: 2), from: "central") == nil)
    }

    @Test func depthsComeFromTheReceiversKnowledgeOfTheTree() {
        #expect(refusal(Self.change(depth: 0))?.contains("depth") == true)
        #expect(refusal(Self.change(depth: 3)) != nil, "the child itself sits at exactly 2")
        #expect(refusal(Self.change(origin: "annex", depth: 2)) != nil, "a node beneath the child is deeper than it")
        #expect(refusal(Self.change(depth: nil)) == nil)
    }

    @Test func aChildMayForceOnlyARowWithAConflictRecordedHere() {
        #expect(refusal(Self.change(forced: true)) == nil)
        #expect(refusal(Self.change(key: "obs-2", forced: true))?.contains("no conflict recorded") == true)
        #expect(refusal(Self.change(key: "obs-2", origin: "central", depth: 0, forced: true), from: "central") == nil)
    }

    @Test func aStrangerIsRefusedAndTheBatchNamesSenderTableKeyAndRule() {
        #expect(refusal(Self.change(origin: "clinic-z"), from: "clinic-z")?.contains("neither") == true)
        let batch = Batch(header: BatchHeader(batchID: 7, source: "clinic-a", target: "district", channel: "default", count: 2),
                          changes: [Self.change(), Self.change("concept", key: "c-1")])
        let failure = Self.boundary.check(batch)
        #expect(failure?.table == "concept")
        #expect(failure?.key?.contains("c-1") == true)
        #expect(failure?.cause.contains("refused from clinic-a") == true)
        #expect(failure?.cause.contains("flows down only") == true)
    }
}
