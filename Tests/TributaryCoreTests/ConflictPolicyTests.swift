import Testing
import TributaryCore

@Suite struct ConflictPolicyTests {
    let early = OriginStamp(time: "2026-11-22 10:00:00.000001", node: "clinic-a", depth: 2)
    let late = OriginStamp(time: "2026-11-22 10:00:00.000002", node: "clinic-a", depth: 2)
    let tieB = OriginStamp(time: "2026-11-22 10:00:00.000001", node: "clinic-b", depth: 2)
    let central = OriginStamp(time: "2026-11-22 09:00:00.000000", node: "central", depth: 0)
    let district = OriginStamp(time: "2026-11-22 11:00:00.000000", node: "district", depth: 1)
    let unknownDepth = OriginStamp(time: "2026-11-22 12:00:00.000000", node: "old-node")

    func decide(_ policy: ConflictPolicy, _ local: OriginStamp?, _ incoming: OriginStamp) -> ConflictDecision {
        ConflictResolution.decide(policy, local: local, incoming: incoming)
    }

    @Test func newerWinsTakesTheLaterStampAndBreaksTiesByNodeId() {
        #expect(decide(.newerWins, early, late) == .incoming)
        #expect(decide(.newerWins, late, early) == .local)
        #expect(decide(.newerWins, early, tieB) == .incoming)
        #expect(decide(.newerWins, tieB, early) == .local)
        #expect(decide(.newerWins, nil, early) == .incoming, "a version older than capture loses")
        #expect(decide(.newerWins, late, central) == .local, "depth plays no part")
    }

    @Test func parentWinsAndChildWinsGoByDepthThenByTime() {
        #expect(decide(.parentWins, late, central) == .incoming, "the root's older edit beats a clinic's newer one")
        #expect(decide(.parentWins, central, late) == .local)
        #expect(decide(.parentWins, district, central) == .incoming)
        #expect(decide(.childWins, late, central) == .local)
        #expect(decide(.childWins, central, early) == .incoming)
        #expect(decide(.childWins, early, district) == .local)
        // Siblings are at the same depth: the newer wins, under either policy.
        #expect(decide(.parentWins, early, late) == .incoming)
        #expect(decide(.childWins, late, early) == .local)
        // A depth nobody reported falls back to time.
        #expect(decide(.parentWins, central, unknownDepth) == .incoming)
    }

    @Test func aDeleteStaysAgainstAConcurrentUpdateUnlessManual() {
        for policy in [ConflictPolicy.newerWins, .parentWins, .childWins] {
            #expect(ConflictResolution.decideDeletion(policy, deleteIsIncoming: true) == .incoming)
            #expect(ConflictResolution.decideDeletion(policy, deleteIsIncoming: false) == .local)
        }
        #expect(ConflictResolution.decideDeletion(.manual, deleteIsIncoming: true) == .pending)
    }

    @Test func manualLeavesTheDecisionPending() {
        #expect(decide(.manual, early, late) == .pending)
        #expect(decide(.manual, nil, late) == .pending)
    }

    /// The node holding x receiving y and the node holding y receiving x keep the same version,
    /// whatever the policy: the property convergence rests on.
    @Test(arguments: [ConflictPolicy.newerWins, .parentWins, .childWins])
    func bothSidesOfAConflictKeepTheSameVersion(policy: ConflictPolicy) {
        let stamps = [early, late, tieB, central, district, unknownDepth]
        for x in stamps {
            for y in stamps where x != y {
                let atX = decide(policy, x, y) == .incoming ? y : x
                let atY = decide(policy, y, x) == .incoming ? x : y
                #expect(atX == atY, "\(x) vs \(y)")
            }
        }
    }
}
