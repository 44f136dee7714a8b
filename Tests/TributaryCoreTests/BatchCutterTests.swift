import Testing
import TributaryEngine

/// Routed changes are cut into batches bounded by count and by the size of their row images.
@Suite struct BatchCutterTests {
    @Test func countBoundsEveryBatch() {
        let ids = Array(Int64(1)...Int64(10))
        let batches = BatchCutter.cut(ids, sizes: Array(repeating: 10, count: 10), maxCount: 4, maxBytes: 1_000)
        #expect(batches == [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10]])
    }

    @Test func bytesBoundEveryBatchButAHugeRowStillTravelsAlone() {
        let batches = BatchCutter.cut([1, 2, 3, 4, 5], sizes: [400, 400, 5_000, 100, 300], maxCount: 100, maxBytes: 1_000)
        #expect(batches == [[1, 2], [3], [4, 5]])
        #expect(batches.flatMap { $0 } == [1, 2, 3, 4, 5], "every change once, in order")
    }

    @Test func nothingInNothingOut() {
        #expect(BatchCutter.cut([], sizes: [], maxCount: 10, maxBytes: 10).isEmpty)
    }
}
