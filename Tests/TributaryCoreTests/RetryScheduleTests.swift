import Testing
import TributaryCore

/// A batch that fails is tried again after 1 s, then twice as long each time, up to 10 min;
/// one not due holds the rest of its channel.
@Suite struct RetryScheduleTests {
    @Test func delaysDoubleUpToTheCeiling() {
        #expect((0...12).map { RetrySchedule.delay(afterFailures: $0) } == [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600])
        #expect(RetrySchedule.delay(afterFailures: 10_000) == 600)
    }

    @Test func aFailedBatchWaitsAndHoldsItsChannel() {
        struct Pending { let id: Int64; let channel: String }
        var schedule = RetrySchedule()
        let batches = [Pending(id: 1, channel: "metadata"), Pending(id: 2, channel: "clinical"), Pending(id: 3, channel: "clinical"),
                       Pending(id: 4, channel: "metadata")]
        #expect(schedule.due(batches, at: 100, id: \.id, channel: \.channel).map(\.id) == [1, 2, 3, 4])
        #expect(schedule.failed(2, at: 100) == 101)
        #expect(schedule.due(batches, at: 100.5, id: \.id, channel: \.channel).map(\.id) == [1, 4], "batch 3 waits behind 2")
        #expect(schedule.due(batches, at: 101, id: \.id, channel: \.channel).map(\.id) == [1, 2, 3, 4])
        #expect(schedule.failed(2, at: 101) == 103)
        #expect(schedule.failures(of: 2) == 2 && !schedule.isDue(2, at: 102.9) && schedule.isDue(2, at: 103))
        schedule.succeeded(2)
        #expect(schedule.failures(of: 2) == 0 && schedule.isDue(2, at: 0))
    }
}
