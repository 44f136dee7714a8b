import Foundation
import Testing
import TributaryCore
import TributaryEngine
import TributarySQL

/// Trees deeper than one link: registration, initial load into fresh and existing sites,
/// changes from every tier reaching every node once, never coming back.
@Suite struct TreeTests {
    static func uuid() -> String { UUID().uuidString.lowercased() }

    /// Central PostgreSQL, district MariaDB, clinics SQLite and MariaDB (fresh installs).
    @Test func fourNodesOnMixedDatabasesRegisterLoadAndConverge() async throws {
        guard TestDatabase.all.contains(.postgres), TestDatabase.all.contains(.mariadb) else { return }
        let (central, _) = try await TestTree.node("central", group: "central", on: .postgres)
        let (district, _) = try await TestTree.node("district", group: "district", on: .mariadb, contents: .coreData)
        let (clinicA, clinicADB) = try await TestTree.node("clinic-a", group: "clinic", on: .sqlite, contents: .coreData)
        let (clinicB, _) = try await TestTree.node("clinic-b", group: "clinic", on: .mariadb, contents: .coreData)
        defer { Task { for node in [central, district, clinicA, clinicB] { await node.close() } } }

        try await TestTree.link(child: district, to: central)
        try await TestTree.link(child: clinicA, to: district)
        // Clinic B has no token: it waits until an administrator of the district approves it.
        let request = RegistrationRequest(nodeID: clinicB.id, group: "clinic", token: nil)
        guard case .pending = try await district.register(request) else { Issue.record("a request without a token must wait"); return }
        #expect(try await district.registrations().first { $0.node == "clinic-b" }?.status == "pending")
        #expect(try await district.decideRegistration(clinicB.id, approve: true))
        guard case .accepted(let response) = try await district.register(request) else { Issue.record("approved request refused"); return }
        try await clinicB.storeCredentials(response)

        let links = [(district, central), (clinicA, district), (clinicB, district)]
        try await TestTree.quiesce(links)
        for node in [district, clinicA, clinicB] {
            #expect(try await node.initialLoadState() == .done, "\(node.id)")
            let status = try await NodeStatus.read(node)
            #expect(status.incomingErrors == 0, "\(node.id): \(status.lastIncomingError ?? "")")
            let differences = try await TableSnapshot.differences(central, node)
            #expect(differences.isEmpty, "\(node.id) after the initial load: \(differences.count) differences, e.g. \(differences.prefix(5))")
        }
        // Core rows matched, not doubled.
        let concepts = try await central.database.scalar("SELECT COUNT(*) FROM concept").int64
        #expect(try await clinicA.database.scalar("SELECT COUNT(*) FROM concept").int64 == concepts)

        // A patient at clinic A, a location renamed at the central, a visit voided at clinic B.
        let person = Self.uuid()
        try clinicADB.client("""
            INSERT INTO person (gender, creator, date_created, voided, uuid) VALUES ('F', 1, '2026-11-22 10:00:00', 0, '\(person)');
            INSERT INTO person_name (person_id, given_name, family_name, preferred, creator, date_created, voided, uuid)
              VALUES ((SELECT person_id FROM person WHERE uuid = '\(person)'), 'Amina', 'Tree', 1, 1, '2026-11-22 10:00:00', 0, '\(Self.uuid())');
            INSERT INTO patient (patient_id, creator, date_created, voided, allergy_status)
              VALUES ((SELECT person_id FROM person WHERE uuid = '\(person)'), 1, '2026-11-22 10:00:00', 0, 'Unknown');
            """)
        let location = try await central.database.scalar("SELECT uuid FROM location ORDER BY location_id LIMIT 1").string!
        try await central.database.execute("UPDATE location SET name = 'Renamed at central' WHERE uuid = \(location)")
        try await TestTree.quiesce(links)
        for node in [district, clinicA, clinicB] {
            #expect(try await node.database.scalar("SELECT name FROM location WHERE uuid = \(location)") == .text("Renamed at central"), "\(node.id)")
            let differences = try await TableSnapshot.differences(central, node)
            #expect(differences.isEmpty, "\(node.id) after edits: \(differences.prefix(5))")
        }
        #expect(try await clinicB.database.scalar("SELECT COUNT(*) FROM person WHERE uuid = \(person)").int64 == 1)
        for node in [central, district, clinicA, clinicB] {
            #expect(try await TestTree.echoes(at: node) == 0, "\(node.id) applied its own change")
        }
        // Each change was applied once per node: the person row was written once at the central.
        #expect(try await central.database.scalar("SELECT COUNT(*) FROM tributary_change WHERE table_name = 'person' AND pk LIKE '%' AND new_row LIKE \("%" + person + "%")").int64 == 1)
    }

    /// An OpenMRS site with its own patients and diverging metadata joins the tree.
    @Test(arguments: [(TestDatabase.postgres, TestDatabase.sqlite), (.sqlite, .mariadb)]
        .filter { TestDatabase.all.contains($0.0) && TestDatabase.all.contains($0.1) })
    func anExistingSiteJoinsWithItsOwnDataAndNothingIsDuplicated(parentKind: TestDatabase, childKind: TestDatabase) async throws {
        let (parent, _) = try await TestTree.node("central", group: "central", on: parentKind)
        let f = childKind == .postgres ? "false" : "0"
        let person = Self.uuid()
        let existing = """
            UPDATE role SET uuid = '\(Self.uuid())', description = 'same name as the central''s, another uuid' WHERE role = 'Provider';
            INSERT INTO concept_class (name, description, creator, date_created, retired, uuid)
              VALUES ('Local class', 'only at the clinic', 1, '2026-01-01 00:00:00', \(f), '\(Self.uuid())');
            INSERT INTO person (gender, creator, date_created, voided, uuid) VALUES ('M', 1, '2026-01-01 00:00:00', \(f), '\(person)');
            INSERT INTO patient (patient_id, creator, date_created, voided, allergy_status)
              VALUES ((SELECT person_id FROM person WHERE uuid = '\(person)'), 1, '2026-01-01 00:00:00', \(f), 'Unknown');
            """
        let (child, _) = try await TestTree.node("clinic-1", group: "clinic", on: childKind, contents: .coreData, before: existing)
        defer { Task { await parent.close(); await child.close() } }
        let rolesBefore = try await parent.database.scalar("SELECT COUNT(*) FROM role").int64
        try await TestTree.link(child: child, to: parent)
        try await TestTree.quiesce([(child, parent)])
        #expect(try await child.initialLoadState() == .done)
        for node in [parent, child] {
            let status = try await NodeStatus.read(node)
            #expect(status.incomingErrors == 0, "\(node.id): \(status.lastIncomingError ?? "")")
        }
        let differences = try await TableSnapshot.differences(parent, child)
        #expect(differences.isEmpty, "\(differences.count) differences, e.g. \(differences.prefix(5))")
        // The clinic's 'Provider' role merged into the central's; its patient and class went up.
        #expect(try await parent.database.scalar("SELECT COUNT(*) FROM role").int64 == rolesBefore)
        #expect(try await parent.database.scalar("SELECT COUNT(*) FROM concept_class WHERE name = 'Local class'").int64 == 1)
        #expect(try await parent.database.scalar("SELECT COUNT(*) FROM patient p JOIN person r ON r.person_id = p.patient_id WHERE r.uuid = \(person)").int64 == 1)
        #expect(try await NodeStatus.read(child).pendingReferences == 0)
    }

    /// A load cut short (the child stops after a few batches) continues where it stopped.
    @Test func anInterruptedInitialLoadResumesAfterARestart() async throws {
        let kind: TestDatabase = TestDatabase.all.contains(.mariadb) ? .mariadb : .sqlite
        let (parent, _) = try await TestTree.node("central", group: "central", on: .sqlite, extra: "sync:\n  batch_size: 100\n")
        let (first, childDB) = try await TestTree.node("clinic-1", group: "clinic", on: kind, contents: .coreData)
        try await TestTree.link(child: first, to: parent)
        try await parent.route()
        let pending = try await parent.pending(for: first.id)
        #expect(pending.count > 3)
        for batch in pending.prefix(3) {
            let ack = await first.apply(try await parent.batch(batch))
            try await parent.record(ack, from: first.id)
        }
        await first.close()  // as if killed between batches: each batch is its own transaction
        let child = try await SyncNode.open(try NodeConfiguration.parse(
            "node:\n  id: clinic-1\n  group: clinic\ndatabase: \(childDB.url)\n"))
        defer { Task { await parent.close(); await child.close() } }
        #expect(try await child.initialLoadState() == .receiving)
        try await TestTree.quiesce([(child, parent)])
        #expect(try await child.initialLoadState() == .done)
        let differences = try await TableSnapshot.differences(parent, child)
        #expect(differences.isEmpty, "\(differences.prefix(5))")
    }

    @Test func registrationIsRefusedForAWrongTokenADuplicateIdAndARejectedRequest() async throws {
        let (parent, _) = try await TestTree.node("central", group: "central", on: .sqlite, contents: .coreData)
        let (child, _) = try await TestTree.node("clinic-1", group: "clinic", on: .sqlite, contents: .coreData)
        defer { Task { await parent.close(); await child.close() } }
        guard case .refused = try await parent.register(RegistrationRequest(nodeID: child.id, group: "clinic", token: "wrong")) else {
            Issue.record("a wrong token must be refused"); return
        }
        #expect(try await parent.links().children.isEmpty)
        try await TestTree.link(child: child, to: parent)
        guard case .refused(let why) = try await parent.register(RegistrationRequest(nodeID: child.id, group: "clinic", token: "test-token")) else {
            Issue.record("a second node with the same id must be refused"); return
        }
        #expect(why.contains("already registered"))
        let stranger = RegistrationRequest(nodeID: NodeID("clinic-9"), group: "clinic", token: nil)
        guard case .pending = try await parent.register(stranger) else { Issue.record("no token: must wait"); return }
        #expect(try await parent.decideRegistration(stranger.nodeID, approve: false))
        guard case .refused = try await parent.register(stranger) else { Issue.record("a rejected request must stay refused"); return }
        #expect(try await parent.links().children == [child.id])
        // Nothing was queued for nodes that were not accepted.
        #expect(try await parent.database.scalar("SELECT COUNT(*) FROM tributary_change WHERE target_node <> 'clinic-1'").int64 == 0)

        // A child whose answer was lost asks again with its claim and gets the same credentials
        // (a late answer to its first attempt cannot invalidate them), its initial load not queued
        // twice; another claim, or the same after first contact, is refused.
        let lost = RegistrationRequest(nodeID: NodeID("clinic-5"), group: "clinic", token: "test-token", claim: "claim-of-clinic-5")
        guard case .accepted(let first) = try await parent.register(lost) else { Issue.record("first registration refused"); return }
        let queued = try await parent.database.scalar("SELECT COUNT(*) FROM tributary_change WHERE target_node = 'clinic-5'").int64
        guard case .accepted(let second) = try await parent.register(lost) else { Issue.record("the same claim must be answered again"); return }
        #expect(first.secret == second.secret)
        #expect(try await parent.database.scalar("SELECT COUNT(*) FROM tributary_change WHERE target_node = 'clinic-5'").int64 == queued)
        var impostor = lost
        impostor.claim = "someone else"
        guard case .refused = try await parent.register(impostor) else { Issue.record("another claim must be refused"); return }
        #expect(try await parent.authenticate(node: lost.nodeID, secret: second.secret))
        guard case .refused = try await parent.register(lost) else { Issue.record("after first contact the id is taken for good"); return }
    }
}

/// Table settings are decided at the root and reach every node.
@Suite struct TableSettingsTests {
    @Test func aTableDisabledAtTheRootStopsSyncingEverywhereAndResumesWhenEnabled() async throws {
        let (central, centralDB) = try await TestTree.node("central", group: "central", on: .sqlite, contents: .coreData)
        let kind: TestDatabase = TestDatabase.all.contains(.postgres) ? .postgres : .sqlite
        let (district, _) = try await TestTree.node("district", group: "district", on: kind, contents: .coreData)
        let (clinic, clinicDB) = try await TestTree.node("clinic", group: "clinic", on: .sqlite, contents: .coreData)
        defer { Task { for node in [central, district, clinic] { await node.close() } } }
        try await TestTree.link(child: district, to: central)
        try await TestTree.link(child: clinic, to: district)
        let links = [(district, central), (clinic, district)]
        try await TestTree.quiesce(links)

        #expect(try await central.changeSetting("location", ["enabled": "false"]).enabled == false)
        await #expect(throws: ConfigurationError.self) { try await district.changeSetting("location", ["enabled": "true"]) }
        try await TestTree.quiesce(links)
        for node in [central, district, clinic] {
            #expect(node.catalog["location"]?.setting.enabled == false, "\(node.id)")
            #expect(try await node.database.scalar("SELECT COUNT(*) FROM tributary_trigger WHERE table_name = 'location'").int64 == 0, "\(node.id) still captures location")
        }
        let atClinic = TreeTests.uuid(), atCentral = TreeTests.uuid()
        try clinicDB.client("INSERT INTO location (name, creator, date_created, retired, uuid) VALUES ('While disabled, clinic', 1, '2026-11-22 10:00:00', 0, '\(atClinic)');")
        try centralDB.client("INSERT INTO location (name, creator, date_created, retired, uuid) VALUES ('While disabled, central', 1, '2026-11-22 10:00:00', 0, '\(atCentral)');")
        try await TestTree.quiesce(links)
        #expect(try await central.database.scalar("SELECT COUNT(*) FROM location WHERE uuid = \(atClinic)").int64 == 0)
        #expect(try await clinic.database.scalar("SELECT COUNT(*) FROM location WHERE uuid = \(atCentral)").int64 == 0)

        _ = try await central.changeSetting("location", ["enabled": "true"])
        try await TestTree.quiesce(links)
        let after = TreeTests.uuid()
        try clinicDB.client("INSERT INTO location (name, creator, date_created, retired, uuid) VALUES ('Enabled again', 1, '2026-11-22 10:00:00', 0, '\(after)');")
        try await TestTree.quiesce(links)
        for node in [central, district] {
            #expect(node.catalog["location"]?.setting.enabled == true, "\(node.id)")
            #expect(try await node.database.scalar("SELECT COUNT(*) FROM location WHERE uuid = \(after)").int64 == 1, "\(node.id)")
        }
        // A bad setting is refused with a message naming it.
        await #expect(throws: ConfigurationError.self) { try await central.changeSetting("location", ["direction": "sideways"]) }
    }
}
