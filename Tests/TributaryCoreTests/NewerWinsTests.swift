import Testing
import TributaryCore

@Suite struct NewerWinsTests {
    @Test func theLaterStampWinsTiesGoByNodeIdAndBothSidesAgree() {
        let early = OriginStamp(time: "2026-11-22 10:00:00.000001", node: "clinic-a")
        let late = OriginStamp(time: "2026-11-22 10:00:00.000002", node: "clinic-a")
        let tieB = OriginStamp(time: "2026-11-22 10:00:00.000001", node: "clinic-b")
        #expect(NewerWins.decide(local: early, incoming: late) == .incoming)
        #expect(NewerWins.decide(local: late, incoming: early) == .local)
        #expect(NewerWins.decide(local: early, incoming: tieB) == .incoming)
        #expect(NewerWins.decide(local: tieB, incoming: early) == .local)
        #expect(NewerWins.decide(local: nil, incoming: early) == .incoming, "a version older than capture loses")
        // Symmetry: the node holding x receiving y and the node holding y receiving x keep the same version.
        for (x, y) in [(early, late), (early, tieB), (late, tieB)] {
            let atX = NewerWins.decide(local: x, incoming: y) == .incoming ? y : x
            let atY = NewerWins.decide(local: y, incoming: x) == .incoming ? x : y
            #expect(atX == atY)
        }
    }
}
