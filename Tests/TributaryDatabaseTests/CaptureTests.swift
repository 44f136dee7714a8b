import Foundation
import Testing
import TributaryCore
import TributaryEngine
import TributaryOpenMRS
import TributarySQL

/// Change capture on the real OpenMRS schema, on each database.
@Suite struct CaptureTests {
    static func uuid() -> String { UUID().uuidString.lowercased() }

    @Test(arguments: TestDatabase.all)
    func triggersInstallOnEveryTableWithAStableIdentityAndReconcileIsIdempotent(on kind: TestDatabase) async throws {
        let fixture = try await CaptureFixture.make(kind)
        defer { Task { await fixture.node.close() } }
        let catalog = try await fixture.catalog()
        // 119 tables: scheduler_task_config_property has no identity; shedlock, global_property,
        // user_property, scheduler_task_config, the three hl7_in_* tables, notification_alert(_recipient)
        // and outbox_event are site-local.
        #expect(catalog.synced.count == 108)
        #expect(try await fixture.tablesWithTriggers() == 108)
        let again = try await fixture.capture.reconcile(catalog)
        #expect(!again.changed && again.unchanged == 108)
        // Every table with a stable identity, shedlock included once the profile is overridden.
        let all = try await fixture.catalog(overrides: ["shedlock": TableSetting()])
        let report = try await fixture.capture.reconcile(all)
        #expect(report.installed == ["shedlock"])
        #expect(try await fixture.tablesWithTriggers() == 109)
        // Tributary's own migrations are recorded once.
        #expect(try await Migrations.apply(to: fixture.database).isEmpty)
    }

    @Test(arguments: TestDatabase.all)
    func writesThroughTheAPIAreCapturedOnceWithTheirImages(on kind: TestDatabase) async throws {
        let fixture = try await CaptureFixture.make(kind)
        defer { Task { await fixture.node.close() } }
        let before = try await fixture.lastChangeID()
        let personUUID = Self.uuid(), nameUUID = Self.uuid()
        try await fixture.database.transaction { db in
            try await fixture.insertPerson(db, uuid: personUUID, nameUUID: nameUUID, given: "Amina", family: "Okello")
        }
        try await fixture.database.execute("UPDATE person_name SET family_name = \("Okello-Banda") WHERE uuid = \(nameUUID)")
        try await fixture.database.execute("DELETE FROM person_name WHERE uuid = \(nameUUID)")

        let changes = try await fixture.changes(after: before)
        #expect(changes.map(\.table) == ["person", "person_name", "person_name", "person_name"])
        #expect(changes.map(\.operation) == [.insert, .insert, .update, .delete])
        let (person, name, update, delete) = (changes[0], changes[1], changes[2], changes[3])
        #expect(person.newRow?["uuid"] == .string(personUUID))
        #expect(person.oldRow == nil)
        #expect(person.key.keys.sorted() == ["person_id"])
        #expect(name.newRow?["given_name"] == .string("Amina"))
        #expect(name.key == update.key && update.key == delete.key)
        #expect(update.oldRow?["family_name"] == .string("Okello"))
        #expect(update.newRow?["family_name"] == .string("Okello-Banda"))
        #expect(update.newRow?["given_name"] == .string("Amina"))
        #expect(delete.newRow == nil)
        #expect(delete.oldRow?["family_name"] == .string("Okello-Banda"))
        for change in changes {
            #expect(change.sourceNode == nil && change.originNode == nil, "a local change has no source")
            #expect(!change.capturedAt.isEmpty && change.originTime.hasPrefix(String(change.capturedAt.prefix(10))))
        }
        if kind != .sqlite {
            // Both rows of the first transaction carry one transaction identity.
            #expect(person.transactionID != nil && person.transactionID == name.transactionID)
        }
        if kind == .postgres {
            #expect(update.transactionID != name.transactionID && delete.transactionID != update.transactionID)
        }
    }

    @Test(arguments: TestDatabase.all)
    func plainSQLThroughTheOrdinaryClientIsCapturedLikeTheApplication(on kind: TestDatabase) async throws {
        let fixture = try await CaptureFixture.make(kind)
        defer { Task { await fixture.node.close() } }
        let before = try await fixture.lastChangeID()
        let personUUID = Self.uuid()
        try fixture.node.client("""
            INSERT INTO person (gender, birthdate, creator, date_created, voided, uuid)
              VALUES ('M', '1985-06-15', 1, '2026-11-22 11:00:00', \(fixture.falseLiteral), '\(personUUID)');
            UPDATE person SET gender = 'F' WHERE uuid = '\(personUUID)';
            UPDATE person SET voided = \(fixture.trueLiteral), void_reason = 'entered twice' WHERE uuid = '\(personUUID)';
            DELETE FROM person WHERE uuid = '\(personUUID)';
            """)
        let changes = try await fixture.changes(after: before)
        #expect(changes.map(\.operation) == [.insert, .update, .update, .delete])
        #expect(Set(changes.map(\.table)) == ["person"])
        #expect(changes[1].oldRow?["gender"] == .string("M") && changes[1].newRow?["gender"] == .string("F"))
        #expect(changes[2].newRow?["void_reason"] == .string("entered twice"))
        #expect(changes[3].oldRow?["uuid"] == .string(personUUID))
        #expect(changes.allSatisfy { $0.sourceNode == nil })
    }

    @Test(arguments: TestDatabase.all)
    func updatesThatChangeNothingAreNotCapturedButCaseOnlyEditsAre(on kind: TestDatabase) async throws {
        let fixture = try await CaptureFixture.make(kind)
        defer { Task { await fixture.node.close() } }
        let nameUUID = Self.uuid()
        try await fixture.insertPerson(fixture.database, uuid: Self.uuid(), nameUUID: nameUUID, given: "Amina", family: "Okello")
        let before = try await fixture.lastChangeID()
        try await fixture.database.execute("UPDATE person_name SET family_name = family_name, given_name = \("Amina") WHERE uuid = \(nameUUID)")
        try fixture.node.client("UPDATE person SET gender = gender; UPDATE concept SET retired = retired;")
        #expect(try await fixture.changes(after: before).isEmpty)
        // MariaDB's _ci collations call 'Okello' and 'okello' equal; the capture must not.
        try await fixture.database.execute("UPDATE person_name SET family_name = \("okello") WHERE uuid = \(nameUUID)")
        let changes = try await fixture.changes(after: before)
        #expect(changes.count == 1)
        #expect(changes.first?.newRow?["family_name"] == .string("okello"))
    }

    @Test(arguments: TestDatabase.all)
    func loaderSessionsAreCapturedWithTheirSourceAndOriginAndOnlyThose(on kind: TestDatabase) async throws {
        let fixture = try await CaptureFixture.make(kind)
        defer { Task { await fixture.node.close() } }
        let before = try await fixture.lastChangeID()
        let loaded = Self.uuid(), local = Self.uuid(), failed = Self.uuid()
        try await fixture.capture.asLoader(source: "district-1", originNode: "clinic-9", originTime: "2026-01-02 03:04:05.123456") { db in
            try await fixture.insertPerson(db, uuid: loaded, nameUUID: Self.uuid(), given: "From", family: "Elsewhere")
        }
        // A loader transaction that fails leaves nothing, and no mark behind it.
        await #expect(throws: (any Error).self) {
            try await fixture.capture.asLoader(source: "district-1", originNode: "clinic-9", originTime: "2026-01-02 03:04:05") { db in
                try await fixture.insertPerson(db, uuid: failed, nameUUID: Self.uuid(), given: "Never", family: "Applied")
                try await db.execute("INSERT INTO person (person_id) VALUES (NULL)")  // violates NOT NULL columns
            }
        }
        try await fixture.insertPerson(fixture.database, uuid: local, nameUUID: Self.uuid(), given: "Made", family: "Here")
        try fixture.node.client("UPDATE person SET gender = 'M' WHERE uuid = '\(local)';")

        let changes = try await fixture.changes(after: before)
        #expect(changes.count == 5)
        let fromLoader = changes.filter { $0.sourceNode != nil }
        #expect(fromLoader.count == 2)
        for change in fromLoader {
            #expect(change.sourceNode == "district-1")
            #expect(change.originNode == "clinic-9")
            #expect(change.originTime == "2026-01-02 03:04:05.123456")
        }
        #expect(fromLoader.first?.newRow?["uuid"] == .string(loaded))
        #expect(!changes.contains { $0.newRow?["uuid"] == .string(failed) })
        #expect(changes.suffix(3).allSatisfy { $0.sourceNode == nil && $0.originNode == nil })
    }

    @Test(arguments: TestDatabase.all)
    func aColumnAddedByAnUpgradeIsCapturedAfterReconcile(on kind: TestDatabase) async throws {
        let fixture = try await CaptureFixture.make(kind)
        defer { Task { await fixture.node.close() } }
        let nameUUID = Self.uuid()
        try await fixture.insertPerson(fixture.database, uuid: Self.uuid(), nameUUID: nameUUID, given: "Amina", family: "Okello")
        try fixture.node.client("ALTER TABLE person_name ADD COLUMN nickname VARCHAR(50);")
        let report = try await fixture.capture.reconcile(try await fixture.catalog())
        #expect(report.replaced == ["person_name"])
        #expect(report.installed.isEmpty && report.removed.isEmpty)
        let before = try await fixture.lastChangeID()
        try fixture.node.client("UPDATE person_name SET nickname = 'Ami' WHERE uuid = '\(nameUUID)';")
        let changes = try await fixture.changes(after: before)
        #expect(changes.count == 1)
        #expect(changes.first?.newRow?["nickname"] == .string("Ami"))
        #expect(changes.first?.oldRow?["nickname"] == .null)
    }

    @Test(arguments: TestDatabase.all)
    func disablingATableRemovesItsTriggersAndItsChangesStop(on kind: TestDatabase) async throws {
        let fixture = try await CaptureFixture.make(kind)
        defer { Task { await fixture.node.close() } }
        var off = OpenMRSProfile().setting(for: "person_name")
        off.enabled = false
        let report = try await fixture.capture.reconcile(try await fixture.catalog(overrides: ["person_name": off]))
        #expect(report.removed == ["person_name"])
        #expect(try await fixture.tablesWithTriggers() == 107)
        let before = try await fixture.lastChangeID()
        try await fixture.insertPerson(fixture.database, uuid: Self.uuid(), nameUUID: Self.uuid(), given: "Not", family: "Captured")
        #expect(try await fixture.changes(after: before).map(\.table) == ["person"])
        // Enabled again: captured again.
        let back = try await fixture.capture.reconcile(try await fixture.catalog())
        #expect(back.installed == ["person_name"])
    }
}

/// Module tables whose names are close to the databases' limits (issue: MariaDB 1059 on
/// `providermanagement_provider_role_provider_attribute_type`; PostgreSQL cut two functions'
/// names to one).
@Suite struct LongTableNameTests {
    static func longest(for kind: TestDatabase) -> [String] {
        // PostgreSQL keeps 63 bytes of a table's own name, MariaDB 64 characters.
        let limit = kind == .postgres ? 63 : 64
        return ["providermanagement_provider_role_provider_attribute_type",
                String(repeating: "m", count: limit - 4) + "_one",
                String(repeating: "m", count: limit - 4) + "_two"]
    }

    @Test(arguments: TestDatabase.all)
    func tablesWithLongNamesAreCapturedEachUnderItsOwnName(on kind: TestDatabase) async throws {
        let node = try await kind.fresh(.coreData)
        defer { Task { await node.close() } }
        let names = Self.longest(for: kind)
        let uuidType = kind == .postgres ? "char(38)" : "char(38)"
        for name in names {
            try await node.database.execute(SQL(trusted: """
                CREATE TABLE \(kind.quote(name)) (id INTEGER PRIMARY KEY, name VARCHAR(50) NOT NULL, uuid \(uuidType) NOT NULL UNIQUE)
                """))
        }
        let catalog = TableCatalog(schema: try await node.database.introspect(), profile: OpenMRSProfile(), overrides: [:])
        for name in names { #expect(catalog[name]?.key.kind == .uuid, "\(name)") }
        let report = try await Capture(database: node.database).reconcile(catalog)
        #expect(Set(names).isSubset(of: Set(report.installed)))
        let again = try await Capture(database: node.database).reconcile(catalog)
        #expect(!again.changed)

        let before = try await node.database.scalar("SELECT COALESCE(MAX(change_id), 0) FROM tributary_change").int64 ?? 0
        for (index, name) in names.enumerated() {
            try node.client("INSERT INTO \(kind.quote(name)) (id, name, uuid) VALUES (\(index + 1), 'row \(index)', '\(UUID().uuidString.lowercased())');")
        }
        try node.client("UPDATE \(kind.quote(names[2])) SET name = 'renamed';")
        let changes = try await ChangeLog.read(node.database, after: before)
        #expect(changes.map(\.table) == names + [names[2]])
        #expect(changes.map(\.operation) == [.insert, .insert, .insert, .update])

        // Removing capture finds the hashed names too.
        var none = catalog
        none.entries = []
        let removal = try await Capture(database: node.database).reconcile(none)
        #expect(Set(names).isSubset(of: Set(removal.removed)))
        let left = try await node.database.scalar("SELECT COUNT(*) FROM tributary_change").int64 ?? 0
        try node.client("INSERT INTO \(kind.quote(names[1])) (id, name, uuid) VALUES (99, 'after', '\(UUID().uuidString.lowercased())');")
        #expect(try await node.database.scalar("SELECT COUNT(*) FROM tributary_change").int64 == left)
    }
}

extension TestDatabase {
    func quote(_ name: String) -> String { self == .mariadb ? "`\(name)`" : "\"\(name)\"" }
}
