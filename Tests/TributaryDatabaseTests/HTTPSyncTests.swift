import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import Testing
import TributaryCore
import TributaryEngine
@testable import TributaryHTTP
import NIOCore
import TributarySQL

/// Two nodes over real HTTP on loopback.
@Suite struct HTTPSyncTests {
    static func logger() -> Logger { var l = Logger(label: "test.client"); l.logLevel = .error; return l }

    /// No token: the child is told it waits, keeps asking, and joins once approved.
    @Test func aChildWithoutATokenWaitsForApprovalThenLoadsAndSyncs() async throws {
        let (parent, _) = try await TestTree.node("central", group: "central", on: .sqlite)
        let (child, _) = try await TestTree.node("clinic-7", group: "clinic", on: .sqlite, contents: .coreData,
                                                 extra: "parent:\n  url: http://127.0.0.1:1\n")
        defer { Task { await parent.close(); await child.close() } }
        try await withServer(parent) { url in
            let client = SyncClient(node: child, parentURL: url, logger: Self.logger())
            defer { Task { await client.shutdown() } }
            for _ in 0..<2 {
                await #expect { _ = try await client.round() } throws: { "\($0)".contains("waiting for approval") }
            }
            #expect(try await NodeStatus.read(child).registration?.contains("pending approval") == true)
            #expect(try await NodeStatus.read(child).registered == false)
            #expect(try await parent.registrations().map(\.status) == ["pending"])
            #expect(try await NodeStatus.read(parent).registrationsWaiting == 1)
            #expect(try await parent.decideRegistration(child.id, approve: true))
            var rounds = 0
            while try await child.initialLoadState() != .done, rounds < 6 {
                _ = try await client.round()
                rounds += 1
            }
            #expect(try await child.initialLoadState() == .done)
            #expect(try await NodeStatus.read(child).registered)
            let differences = try await TableSnapshot.differences(parent, child)
            #expect(differences.isEmpty, "\(differences.count): \(differences.prefix(5))")
        }
    }

    /// A PostgreSQL child pulling an initial load in bulk batches of two rows applies
    /// consecutive batches of one table together, except where the second references a row
    /// of the first (an obs group's member in the batch after its head).
    @Test func bulkBatchesOfOneTableAreAppliedTwoAtATime() async throws {
        guard TestDatabase.all.contains(.postgres) else { return }
        let (parent, _) = try await TestTree.node("central", group: "central", on: .postgres, extra: "sync:\n  bulk_batch_rows: 2\n",
                                                  before: """
            UPDATE obs SET obs_group_id = (SELECT MIN(obs_id) FROM obs)
            WHERE obs_id = (SELECT obs_id FROM obs ORDER BY obs_id OFFSET 2 LIMIT 1);
            """)
        let (child, _) = try await TestTree.node("clinic-1", group: "clinic", on: .postgres, contents: .coreData,
                                                 extra: "parent:\n  url: http://127.0.0.1:1\n  registration_token: test-token\n")
        defer { Task { await parent.close(); await child.close() } }
        try await withServer(parent) { url in
            let client = SyncClient(node: child, parentURL: url, logger: Self.logger())
            defer { Task { await client.shutdown() } }
            _ = try await client.ensureRegistered()
            // Which pairs qualify, read from the parent's queue before anything is pulled.
            try await parent.route()
            var obs: [Batch] = []
            for pending in try await parent.pending(for: child.id) {
                let batch = try await parent.batch(pending)
                if batch.header.bulk?.table == "obs" { obs.append(batch) }
            }
            #expect(obs.count == 5 && obs.allSatisfy { $0.bulkRows.count == 2 }, "\(obs.map(\.bulkRows.count))")
            if obs.count == 5 {
                #expect(!child.mayApplyTogether(obs[0], obs[1]), "the second holds a member of a group whose head is in the first")
                #expect(child.mayApplyTogether(obs[1], obs[0]) && child.mayApplyTogether(obs[2], obs[3]))
            }
            var rounds = 0
            while try await child.initialLoadState() != .done, rounds < 6 {
                let report = try await client.round()
                #expect(report.failures.isEmpty, "\(report.failures)")
                rounds += 1
            }
            #expect(try await child.initialLoadState() == .done)
            #expect(child.bulkBatchesAppliedTogether >= 4, "\(child.bulkBatchesAppliedTogether) batches applied together")
            #expect(try await NodeStatus.read(child).incomingErrors == 0)
            let member = "SELECT g.uuid FROM obs o JOIN obs g ON g.obs_id = o.obs_group_id"
            let here = try await child.database.query(SQL(trusted: member)), there = try await parent.database.query(SQL(trusted: member))
            #expect(here.count == 1 && here.first?.string("uuid") == there.first?.string("uuid"))
            let differences = try await TableSnapshot.differences(parent, child)
            #expect(differences.isEmpty, "\(differences.count): \(differences.prefix(5))")
        }
    }

    @Test(arguments: [(TestDatabase.postgres, TestDatabase.mariadb), (.mariadb, .sqlite)]
        .filter { TestDatabase.all.contains($0.0) && TestDatabase.all.contains($0.1) })
    func childAndParentSyncOverHTTPExactlyOnce(parentKind: TestDatabase, childKind: TestDatabase) async throws {
        let (parent, parentDB) = try await TestTree.node("central", group: "central", on: parentKind)
        let (child, childDB) = try await TestTree.node("clinic-1", group: "clinic", on: childKind,
                                                       extra: "parent:\n  url: http://127.0.0.1:1\n  registration_token: test-token\n")
        defer { Task { await parent.close(); await child.close() } }
        try await withServer(parent) { url in
            let client = SyncClient(node: child, parentURL: url, logger: Self.logger())
            defer { Task { await client.shutdown() } }
            let person = SyncFlowTests.uuid()
            try childDB.client(SyncFlowTests.patientScript(childKind, person: person, family: "Okello"))
            let first = try await client.round()
            #expect(first.pushed >= 1 && first.pushFailed == 0, "\(first)")
            #expect(try await SyncFlowTests.rowCount(parent, "obs", uuidPrefix: String(person.prefix(30))) == 3)

            // A change at the parent comes down on the next round; nothing echoes.
            try parentDB.client("UPDATE person_name SET family_name = 'Okello-Banda' WHERE uuid = '\(person.prefix(30))name01';")
            let second = try await client.round()
            #expect(second.pulled == 1 && second.rows == 1, "\(second)")
            #expect(try await child.database.scalar("SELECT family_name FROM person_name WHERE uuid = \(String(person.prefix(30)) + "name01")") == .text("Okello-Banda"))
            let third = try await client.round()
            #expect(third.pushed == 0 && third.pulled == 0, "echo: \(third)")

            // A replayed batch is acknowledged again and applied once.
            let (_, secret) = try #require(try await child.credentials())
            let replay = Batch(header: BatchHeader(batchID: 1, source: child.id, target: parent.id, channel: "clinical", count: 0), changes: [])
            let (status, body) = try await rawRequest(url + "/v1/batches", headers: ["X-Tributary-Node": "clinic-1", "Authorization": "Bearer \(secret)"],
                                                      body: try BatchCodec.encode(replay))
            #expect(status == 200 && body.contains("\"duplicate\":true"), "\(status) \(body)")
            let differences = try await TableSnapshot.differences(child, parent, tables: ["person", "person_name", "patient", "encounter", "obs", "orders", "drug_order"])
            #expect(differences.isEmpty, "\(differences.prefix(5))")
        }
    }

    @Test(arguments: TestDatabase.all.prefix(1))
    func badInputIsRejectedAndChangesNothing(on kind: TestDatabase) async throws {
        let (parent, _) = try await TestTree.node("central", group: "central", on: kind)
        let (child, _) = try await TestTree.node("clinic-1", group: "clinic", on: kind)
        defer { Task { await parent.close(); await child.close() } }
        try await TestTree.link(child: child, to: parent)
        let (_, secret) = try #require(try await child.credentials())
        let before = try await parent.database.scalar("SELECT COUNT(*) FROM person").int64
        try await withServer(parent) { url in
            let good = ["X-Tributary-Node": "clinic-1", "Authorization": "Bearer \(secret)"]
            let person = Batch(header: BatchHeader(batchID: 7, source: "clinic-1", target: "central", channel: "clinical", count: 1), changes: [
                WireChange(table: "person", operation: .insert, key: [.string(SyncFlowTests.uuid())],
                           row: ["gender": .string("F"), "creator": .key([.string("A4F30A1B-5EB9-11DF-A648-37A07F9C90FB")]),
                                 "date_created": .string("2026-01-01 00:00:00"), "voided": .bool(false)],
                           old: nil, originNode: "clinic-1", originTime: "2026-01-01 00:00:00")])
            let encoded = try BatchCodec.encode(person)

            var (status, body) = try await rawRequest(url + "/v1/batches", body: encoded)
            #expect(status == 401, "unauthenticated: \(body)")
            (status, body) = try await rawRequest(url + "/v1/batches", headers: ["X-Tributary-Node": "clinic-1", "Authorization": "Bearer wrong"], body: encoded)
            #expect(status == 401, "wrong secret: \(body)")
            var foreign = person
            foreign.header.source = "clinic-2"
            (status, body) = try await rawRequest(url + "/v1/batches", headers: good, body: try BatchCodec.encode(foreign))
            #expect(status == 403, "foreign source: \(body)")
            (status, body) = try await rawRequest(url + "/v1/batches", headers: good, body: encoded.prefix(encoded.count - 12))
            #expect(status == 400 && body.contains("truncated"), "truncated: \(body)")
            (status, body) = try await rawRequest(url + "/v1/batches", headers: good, body: Data("garbage\n{\"x\":1}\n".utf8))
            #expect(status == 400, "garbled: \(body)")
            (status, body) = try await rawRequest(url + "/v1/batches", headers: good, body: Data(count: 65 * 1024 * 1024))
            #expect(status == 413, "oversized: \(status)")
            var gzipped = good
            gzipped["Content-Encoding"] = "gzip"
            (status, body) = try await rawRequest(url + "/v1/batches", headers: gzipped, body: encoded)
            #expect(status == 400 && body.contains("gzip"), "declared gzip, sent plain: \(body)")
            let bomb = try BodyCompression.compress(Data(count: 80 * 1024 * 1024))
            #expect(bomb.readableBytes < 1024 * 1024)
            (status, body) = try await rawRequest(url + "/v1/batches", headers: gzipped, body: Data(buffer: bomb))
            #expect(status == 413, "a small body inflating past the limit: \(status) \(body.prefix(300))")
            (status, body) = try await rawRequest(url + "/v1/batches", headers: gzipped, body: Data(buffer: try BodyCompression.compress(encoded.prefix(encoded.count - 12))))
            #expect(status == 400 && body.contains("truncated"), "compressed truncated batch: \(body)")

            var unknown = person
            unknown.changes[0].table = "no_such_table"
            (status, body) = try await rawRequest(url + "/v1/batches", headers: good, body: try BatchCodec.encode(unknown))
            #expect(status == 200 && body.contains("\"failed\"") && body.contains("no_such_table"), "unknown table: \(body)")
            #expect(try await parent.database.scalar("SELECT COUNT(*) FROM person").int64 == before)

            // The node still serves: the good batch applies (an unknown column is ignored with a warning).
            var good2 = person
            good2.changes[0].row!["no_such_column"] = .string("x")
            (status, body) = try await rawRequest(url + "/v1/batches", headers: good, body: try BatchCodec.encode(good2))
            #expect(status == 200 && body.contains("\"applied\"") && body.contains("no_such_column"), "good: \(body)")
            #expect(try await parent.database.scalar("SELECT COUNT(*) FROM person").int64 == before.map { $0 + 1 })
        }
    }
}
