import Crypto
import Foundation
import Testing
import TributaryCore
import TributaryEngine
import TributaryHTTP
@testable import TributaryOffline
import TributarySQL

/// Sites without a network: bundles carried by hand, with real acknowledgments.
@Suite struct OfflineTests {
    static let offlineParent = "parent:\n  offline: true\n  registration_token: test-token\n"

    static func folder() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bundles-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// The child exports, the parent imports and answers, the child imports the answer.
    @discardableResult
    static func trip(_ child: SyncNode, _ parent: SyncNode, _ dir: String) async throws -> (OfflineExchange.ImportReport, OfflineExchange.ImportReport) {
        let out = try await OfflineExchange(node: child).export(to: dir)
        let atParent = try await OfflineExchange(node: parent).importBundle(out.path, answer: dir)
        let atChild = try await OfflineExchange(node: child).importBundle(try #require(atParent.answer).path)
        return (atParent, atChild)
    }

    static func settle(_ child: SyncNode, _ parent: SyncNode, _ dir: String, trips: Int = 6) async throws {
        for _ in 0..<trips {
            let (up, down) = try await trip(child, parent, dir)
            let state = try await child.initialLoadState()
            if up.batches == 0 && down.batches == 0 && state == .done { return }
        }
    }

    @Test func anOfflineClinicRegistersLoadsAndConvergesByBundles() async throws {
        let parentKind: TestDatabase = TestDatabase.all.contains(.postgres) ? .postgres : .sqlite
        let childKind: TestDatabase = TestDatabase.all.contains(.mariadb) ? .mariadb : .sqlite
        let (central, centralDB) = try await TestTree.node("central", group: "central", on: parentKind)
        let (clinic, clinicDB) = try await TestTree.node("clinic-1", group: "clinic", on: childKind, contents: .coreData, extra: Self.offlineParent)
        defer { Task { await central.close(); await clinic.close() } }
        let dir = try Self.folder()

        let first = try await OfflineExchange(node: clinic).export(to: dir)
        #expect(first.registration && first.path.contains("clinic-1-to-parent-"))
        let accepted = try await OfflineExchange(node: central).importBundle(first.path, answer: dir)
        #expect(accepted.registered?.contains("Registered clinic-1") == true, "\(accepted)")
        let answer = try #require(accepted.answer)
        #expect(answer.batches > 0, "the answer carries the initial load")
        let loaded = try await OfflineExchange(node: clinic).importBundle(answer.path)
        #expect(try await clinic.credentials()?.parent == central.id)
        #expect(loaded.applied == answer.batches && loaded.failed == 0, "\(loaded)")
        try await Self.settle(clinic, central, dir)
        #expect(try await clinic.initialLoadState() == .done)
        var differences = try await TableSnapshot.differences(central, clinic)
        #expect(differences.isEmpty, "after the initial load: \(differences.prefix(5))")

        for round in 0..<3 {
            let person = TreeTests.uuid(), location = TreeTests.uuid()
            let f = childKind == .postgres ? "false" : "0"
            try clinicDB.client("INSERT INTO person (gender, creator, date_created, voided, uuid) VALUES ('F', 1, '2026-11-22 10:00:00', \(f), '\(person)');")
            let g = parentKind == .postgres ? "false" : "0"
            try centralDB.client("INSERT INTO location (name, creator, date_created, retired, uuid) VALUES ('Round \(round)', 1, '2026-11-22 10:00:00', \(g), '\(location)');")
            try await Self.settle(clinic, central, dir)
            #expect(try await central.database.scalar("SELECT COUNT(*) FROM person WHERE uuid = \(person)").int64 == 1)
            #expect(try await clinic.database.scalar("SELECT COUNT(*) FROM location WHERE uuid = \(location)").int64 == 1)
        }
        differences = try await TableSnapshot.differences(central, clinic)
        #expect(differences.isEmpty, "after rounds of edits: \(differences.prefix(5))")
        #expect(try await NodeStatus.read(clinic).outgoingPending == 0)

        // The clinic gets a link for a while, then loses it again: nothing lost, nothing repeated.
        let online = TreeTests.uuid()
        try clinicDB.client("INSERT INTO person (gender, creator, date_created, voided, uuid) VALUES ('M', 1, '2026-11-22 11:00:00', \(childKind == .postgres ? "false" : "0"), '\(online)');")
        try await withServer(central) { url in
            let client = SyncClient(node: clinic, parentURL: url, logger: HTTPSyncTests.logger())
            let report = try await client.round()
            await client.shutdown()
            #expect(report.pushed >= 1 && report.pushFailed == 0, "\(report)")
        }
        let offlineAgain = TreeTests.uuid()
        try clinicDB.client("INSERT INTO person (gender, creator, date_created, voided, uuid) VALUES ('M', 1, '2026-11-22 12:00:00', \(childKind == .postgres ? "false" : "0"), '\(offlineAgain)');")
        try await Self.settle(clinic, central, dir)
        for uuid in [online, offlineAgain] {
            #expect(try await central.database.scalar("SELECT COUNT(*) FROM person WHERE uuid = \(uuid)").int64 == 1)
        }
        #expect(try await TableSnapshot.differences(central, clinic).isEmpty)
    }

    /// An offline clinic under an online district: its data reaches the central through the
    /// district, and the central's reaches it.
    @Test func anOfflineClinicUnderAnOnlineDistrictReachesTheCentral() async throws {
        let (central, centralDB) = try await TestTree.node("central", group: "central", on: .sqlite)
        let districtKind: TestDatabase = TestDatabase.all.contains(.postgres) ? .postgres : .sqlite
        let (district, _) = try await TestTree.node("district", group: "district", on: districtKind, contents: .coreData)
        let (clinic, clinicDB) = try await TestTree.node("clinic-1", group: "clinic", on: .sqlite, contents: .coreData, extra: Self.offlineParent)
        defer { Task { await central.close(); await district.close(); await clinic.close() } }
        let dir = try Self.folder()
        try await TestTree.link(child: district, to: central)
        try await TestTree.quiesce([(district, central)])
        try await Self.settle(clinic, district, dir)
        #expect(try await clinic.initialLoadState() == .done)

        let person = TreeTests.uuid(), location = TreeTests.uuid()
        try clinicDB.client("INSERT INTO person (gender, creator, date_created, voided, uuid) VALUES ('F', 1, '2026-11-22 10:00:00', 0, '\(person)');")
        try centralDB.client("INSERT INTO location (name, creator, date_created, retired, uuid) VALUES ('From the central', 1, '2026-11-22 10:00:00', 0, '\(location)');")
        try await Self.trip(clinic, district, dir)            // the clinic's change goes to the district
        try await TestTree.quiesce([(district, central)])     // on to the central; the central's comes down
        try await Self.settle(clinic, district, dir)          // and on to the clinic
        #expect(try await central.database.scalar("SELECT COUNT(*) FROM person WHERE uuid = \(person)").int64 == 1)
        #expect(try await clinic.database.scalar("SELECT COUNT(*) FROM location WHERE uuid = \(location)").int64 == 1)
        for node in [district, clinic] {
            let differences = try await TableSnapshot.differences(central, node)
            #expect(differences.isEmpty, "\(node.id): \(differences.prefix(5))")
        }
        let status = try await NodeStatus.read(district)
        #expect(status.offlinePeers.map(\.node) == ["clinic-1"] && status.offlinePeers[0].lastImport != nil)
    }

    @Test func aLostRepeatedOrOldBundleLosesAndDoublesNothing() async throws {
        let (central, _) = try await TestTree.node("central", group: "central", on: .sqlite, contents: .coreData)
        let (clinic, clinicDB) = try await TestTree.node("clinic-1", group: "clinic", on: .sqlite, contents: .coreData, extra: Self.offlineParent)
        defer { Task { await central.close(); await clinic.close() } }
        let dir = try Self.folder()
        try await Self.trip(clinic, central, dir)
        try await Self.settle(clinic, central, dir)

        let lost = TreeTests.uuid(), kept = TreeTests.uuid()
        try clinicDB.client("INSERT INTO person (gender, creator, date_created, voided, uuid) VALUES ('F', 1, '2026-11-22 10:00:00', 0, '\(lost)');")
        let neverArrived = try await OfflineExchange(node: clinic).export(to: dir)   // the stick is lost
        #expect(neverArrived.batches == 1)
        try clinicDB.client("INSERT INTO person (gender, creator, date_created, voided, uuid) VALUES ('F', 1, '2026-11-22 10:05:00', 0, '\(kept)');")
        let next = try await OfflineExchange(node: clinic).export(to: dir)
        #expect(next.batches == 2, "the unacknowledged batch goes again")
        let first = try await OfflineExchange(node: central).importBundle(next.path)
        #expect(first.applied == 2)
        let again = try await OfflineExchange(node: central).importBundle(next.path)
        #expect(again.applied == 0 && again.duplicates == 2, "\(again)")
        let old = try await OfflineExchange(node: central).importBundle(neverArrived.path)
        #expect(old.applied == 0 && old.duplicates == 1, "\(old)")
        for uuid in [lost, kept] {
            #expect(try await central.database.scalar("SELECT COUNT(*) FROM person WHERE uuid = \(uuid)").int64 == 1)
            #expect(try await central.database.scalar("SELECT COUNT(*) FROM tributary_change WHERE table_name = 'person' AND new_row LIKE \("%" + uuid + "%")").int64 == 1,
                    "applied once")
        }
        // The answer to the lost bundle never came; the next answer acknowledges everything.
        let answer = try await OfflineExchange(node: central).export(for: clinic.id, to: dir)
        let back = try await OfflineExchange(node: clinic).importBundle(answer.path)
        #expect(back.acknowledged >= 2)
        #expect(try await NodeStatus.read(clinic).outgoingPending == 0)
    }

    @Test func damagedMisaddressedOrForgedBundlesAreRejectedWhole() async throws {
        let (central, centralDB) = try await TestTree.node("central", group: "central", on: .sqlite, contents: .coreData)
        let (clinic, clinicDB) = try await TestTree.node("clinic-1", group: "clinic", on: .sqlite, contents: .coreData, extra: Self.offlineParent)
        let (other, _) = try await TestTree.node("clinic-2", group: "clinic", on: .sqlite, contents: .coreData, extra: Self.offlineParent)
        defer { Task { await central.close(); await clinic.close(); await other.close() } }
        let dir = try Self.folder()
        try await Self.settle(clinic, central, dir)
        try await Self.settle(other, central, dir)
        try clinicDB.client("INSERT INTO person (gender, creator, date_created, voided, uuid) VALUES ('F', 1, '2026-11-22 10:00:00', 0, '\(TreeTests.uuid())');")
        let good = try await OfflineExchange(node: clinic).export(to: dir)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: good.path))
        let persons = try await central.database.scalar("SELECT COUNT(*) FROM person").int64
        let incoming = try await central.database.scalar("SELECT COUNT(*) FROM tributary_incoming_batch").int64

        func rejected(_ data: Data, _ expected: String) async throws {
            let path = dir + "/bad-\(UUID().uuidString).tributary"
            try data.write(to: URL(fileURLWithPath: path))
            await #expect { _ = try await OfflineExchange(node: central).importBundle(path) } throws: { error in
                "\(error)".contains(expected) || { Issue.record("message was: \(error)"); return false }()
            }
        }
        var corrupted = bytes
        corrupted[corrupted.count - 40] ^= 0x01
        try await rejected(corrupted, "does not authenticate")
        try await rejected(bytes.prefix(bytes.count - 30), "truncated")
        try await rejected(bytes.prefix(bytes.count / 2), "truncated")
        // For another node: the central's bundle for clinic-2, brought to clinic-1.
        let forOther = try await OfflineExchange(node: central).export(for: other.id, to: dir)
        await #expect { _ = try await OfflineExchange(node: clinic).importBundle(forOther.path) } throws: { "\($0)".contains("addressed to clinic-2") }
        // Sealed with another node's key: clinic-2's key, claiming to be clinic-1.
        let otherSecret = try #require(try await other.credentials()).secret
        try await rejected(try Self.forged(sender: clinic.id, recipient: central.id, key: BundleFile.key(hex: Secrets.bundleKey(otherSecret))), "does not authenticate")
        // Tag recomputed by someone without the key (any key of their own).
        try await rejected(try Self.forged(sender: clinic.id, recipient: central.id, key: SymmetricKey(size: .bits256)), "does not authenticate")
        // An unknown sender.
        try await rejected(try Self.forged(sender: NodeID("clinic-99"), recipient: central.id, key: SymmetricKey(size: .bits256)), "neither this node's parent nor a registered child")

        #expect(try await central.database.scalar("SELECT COUNT(*) FROM person").int64 == persons, "nothing applied")
        #expect(try await central.database.scalar("SELECT COUNT(*) FROM tributary_incoming_batch").int64 == incoming)
        // The intact bundle still applies.
        #expect(try await OfflineExchange(node: central).importBundle(good.path).applied == 1)
        _ = centralDB
    }

    /// A bundle with a well-formed header and one batch, sealed with `key`.
    static func forged(sender: NodeID, recipient: NodeID, key: SymmetricKey) throws -> Data {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("forged-\(UUID().uuidString)").path
        let writer = try BundleWriter(path: path, header: BundleHeader(format: 1, bundleID: UUID().uuidString, sender: sender, recipient: recipient,
                                                                        createdAt: Clock.nowText(), key: "node"), key: key)
        var record = BundleRecord(.batch)
        record.batch = Batch(header: BatchHeader(batchID: 999, source: sender, target: recipient, channel: "metadata", count: 0), changes: [])
        try writer.append(record)
        try writer.finish()
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try Data(contentsOf: URL(fileURLWithPath: path))
    }
}
