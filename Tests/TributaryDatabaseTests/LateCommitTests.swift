import Foundation
import Testing
import TributaryCore
import TributaryEngine
import TributarySQL

/// A change whose transaction commits long after later changes were routed (a long report,
/// a migration): before, its gap was given up after `sync.gap_timeout` of wall clock and the
/// change was never sent, with no log line. Now a gap waits while the database reports a
/// transaction that could fill it, and `status` shows how long it has waited.
@Suite struct LateCommitTests {
    static var servers: [TestDatabase] { TestDatabase.all.filter { $0 != .sqlite } }

    static func person(_ kind: TestDatabase, _ uuid: String) -> String {
        "INSERT INTO person (gender, creator, date_created, voided, uuid) VALUES ('F', 1, '2026-12-03 10:00:00', \(kind == .postgres ? "false" : "0"), '\(uuid)');"
    }

    /// Waits until a transaction of the test's client has written in this database (its
    /// client may take a while to start on a loaded machine).
    /// MariaDB: a fixed pause (joining innodb_trx with the process list did not find the
    /// client's transaction reliably here).
    static func waitForOpenWriter(_ node: TestNode) async throws {
        guard node.kind == .postgres else { return try await Task.sleep(for: .seconds(2)) }
        let sql: SQL = "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()"
        for _ in 0..<200 {
            if (try await node.database.scalar(sql).int64 ?? 0) > 0 { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure("the client's transaction did not start")
    }

    @Test(arguments: servers)
    func aChangeCommittedLongAfterTheGapTimeoutIsStillDelivered(on kind: TestDatabase) async throws {
        let (parent, parentDB) = try await TestTree.node("central", group: "central", on: kind, contents: .coreData,
                                                         extra: "sync:\n  gap_timeout: 1s\n")
        let (child, _) = try await TestTree.node("clinic-1", group: "clinic", on: .sqlite, contents: .coreData)
        defer { Task { await parent.close(); await child.close() } }
        try await TestTree.link(child: child, to: parent)
        try await TestTree.settle(child, parent)

        let late = SyncFlowTests.uuid(), early = SyncFlowTests.uuid()
        let sleep = kind == .postgres ? "SELECT pg_sleep(10);" : "DO SLEEP(10);"
        let begin = kind == .postgres ? "BEGIN;" : "START TRANSACTION;"
        let longTransaction = try parentDB.clientInBackground("\(begin)\n\(Self.person(kind, late))\n\(sleep)\nCOMMIT;\n")
        try await Self.waitForOpenWriter(parentDB)
        try parentDB.client(Self.person(kind, early))   // a later id, committed first
        try await parent.route()
        try await Task.sleep(for: .milliseconds(2_500))   // past gap_timeout: the old router gave the gap up here
        try await parent.route()
        let waiting = try await NodeStatus.read(parent)
        #expect((waiting.oldestOpenGapSeconds.value ?? 0) >= 2, "\(waiting.oldestOpenGapSeconds)")
        longTransaction.waitUntilExit()
        #expect(longTransaction.terminationStatus == 0)

        try await TestTree.settle(child, parent)
        for uuid in [early, late] {
            let count = try await child.database.scalar("SELECT COUNT(*) FROM person WHERE uuid = \(uuid)").int64
            #expect(count == 1, "\(uuid == late ? "the late" : "the early") person did not arrive")
        }
        // Its gap is closed (other gaps may open and close meanwhile: MariaDB's ids of rolled-back
        // statements, waiting for the server's other transactions).
        let lateID = try #require(try await parent.database.scalar(
            "SELECT change_id FROM tributary_change WHERE table_name = 'person' AND new_row LIKE \("%" + late + "%")").int64)
        let gaps = try await parent.database.scalar("SELECT gaps FROM tributary_router WHERE id = 1").string ?? ""
        #expect(!gaps.contains("\"\(lateID)\""), "\(gaps)")
    }

    /// A rolled-back transaction leaves a gap that never fills: it is closed once no transaction
    /// that could fill it is open, without waiting for the timeout.
    @Test(arguments: servers)
    func aGapLeftByARollbackClosesOnceNoTransactionCouldFillIt(on kind: TestDatabase) async throws {
        let (parent, parentDB) = try await TestTree.node("central", group: "central", on: kind, contents: .coreData,
                                                         extra: "sync:\n  gap_timeout: 1h\n")
        defer { Task { await parent.close() } }
        let begin = kind == .postgres ? "BEGIN;" : "START TRANSACTION;"
        let sleep = kind == .postgres ? "SELECT pg_sleep(6);" : "DO SLEEP(6);"
        let rolledBack = try parentDB.clientInBackground("\(begin)\n\(Self.person(kind, SyncFlowTests.uuid()))\n\(sleep)\nROLLBACK;\n")
        try await Self.waitForOpenWriter(parentDB)
        try parentDB.client(Self.person(kind, SyncFlowTests.uuid()))
        try await parent.route()
        #expect(try await NodeStatus.read(parent).oldestOpenGapSeconds.value != nil)
        rolledBack.waitUntilExit()
        // The server may still be rolling back once the client has gone: a few passes, well
        // inside the hour of gap_timeout.
        var open: Int? = -1
        for _ in 0..<50 where open != nil {
            try await parent.route()
            open = try await NodeStatus.read(parent).oldestOpenGapSeconds.value
            if open != nil { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(open == nil)
    }

    @Test func gapsCloseOnlyWhenNoTransactionThatCouldFillThemIsOpen() {
        var tracker = GapTracker()
        tracker.observe([1, 2, 5], now: 100)
        #expect(tracker.gaps.keys.sorted() == [3, 4])
        // Seen in this very pass (after the check): whatever took 3 and 4 may have begun after it.
        #expect(tracker.expire(.none, checkedAt: 99, now: 100, timeout: 0).isEmpty)
        // A transaction that began before the gap was seen was open at the check: kept, past any timeout.
        #expect(tracker.expire(.oldestStarted(99), checkedAt: 150, now: 10_000, timeout: 600).isEmpty)
        #expect(tracker.oldestGapAge(now: 160) == 60)
        tracker.observe([3], now: 200)
        #expect(tracker.gaps.keys.sorted() == [4])
        // Every transaction open at the check began after the gap was seen: 4 will never come.
        #expect(tracker.expire(.oldestStarted(101), checkedAt: 201, now: 202, timeout: 600) == [4])
        tracker.observe([7], now: 300)
        #expect(tracker.expire(.unknown, checkedAt: 400, now: 400, timeout: 600).isEmpty)
        #expect(tracker.expire(.unknown, checkedAt: 900, now: 900, timeout: 600) == [6])
        tracker.observe([9], now: 1000)
        #expect(tracker.expire(.none, checkedAt: 1001, now: 1001, timeout: 600) == [8])
    }
}
