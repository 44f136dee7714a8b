import Foundation
import Testing
import TributaryCore
import TributaryEngine
import TributarySQL

/// The hard corners of the OpenMRS model and of delivery, on real databases.
@Suite struct SyncScenarioTests {
    static func uuid() -> String { UUID().uuidString.lowercased() }

    /// A change whose transaction commits after later changes were routed is still delivered.
    @Test(arguments: [TestDatabase.postgres, .mariadb].filter { TestDatabase.all.contains($0) })
    func aLateCommitIsStillDelivered(on kind: TestDatabase) async throws {
        let (parent, _) = try await TestTree.node("central", group: "central", on: .sqlite)
        let (child, childDB) = try await TestTree.node("clinic-1", group: "clinic", on: kind)
        defer { Task { await parent.close(); await child.close() } }
        try await TestTree.link(child: child, to: parent)
        let other = try await Databases.connect(childDB.url)
        let late = Self.uuid(), early = Self.uuid()
        let (gate, open) = AsyncStream.makeStream(of: Void.self)
        let (inserted, didInsert) = AsyncStream.makeStream(of: Void.self)
        let fixture = CaptureFixture(node: childDB, capture: Capture(database: child.database))
        let holder = Task {
            try await other.transaction { tx in
                try await fixture.insertPerson(tx, uuid: late, nameUUID: Self.uuid(), given: "Late", family: "Commit")
                didInsert.yield()
                var wait = gate.makeAsyncIterator()
                _ = await wait.next()
            }
        }
        var insertedIterator = inserted.makeAsyncIterator()
        _ = await insertedIterator.next()
        try await fixture.insertPerson(child.database, uuid: early, nameUUID: Self.uuid(), given: "Early", family: "Commit")
        try await TestTree.deliver(from: child, to: parent)
        #expect(try await parent.database.scalar("SELECT COUNT(*) FROM person WHERE uuid = \(early)").int64 == 1)
        #expect(try await parent.database.scalar("SELECT COUNT(*) FROM person WHERE uuid = \(late)").int64 == 0)
        open.yield()
        try await holder.value
        await other.close()
        try await TestTree.deliver(from: child, to: parent)
        #expect(try await parent.database.scalar("SELECT COUNT(*) FROM person WHERE uuid = \(late)").int64 == 1, "the late commit was lost")
        #expect(try await parent.database.scalar("SELECT COUNT(*) FROM person_name WHERE given_name = 'Late'").int64 == 1)
        #expect(try await TestTree.deliver(from: child, to: parent).isEmpty)
    }

    /// A batch whose reference is not there yet fails with a message naming the table and
    /// key, stays pending, and applies once the referenced row has arrived.
    @Test(arguments: TestDatabase.all)
    func aMissingReferenceFailsItsBatchClearlyAndSucceedsOnRetry(on kind: TestDatabase) async throws {
        let (parent, _) = try await TestTree.node("central", group: "central", on: kind)
        let (child, childDB) = try await TestTree.node("clinic-1", group: "clinic", on: .sqlite)
        defer { Task { await parent.close(); await child.close() } }
        try await TestTree.link(child: child, to: parent)
        let location = Self.uuid(), person = Self.uuid()
        try childDB.client("""
            INSERT INTO location (name, creator, date_created, retired, uuid) VALUES ('New clinic room', 1, '2026-11-22 10:00:00', 0, '\(location)');
            """)
        try childDB.client(SyncFlowTests.patientScript(.sqlite, person: person, family: "Moved")
            .replacingOccurrences(of: "(SELECT MIN(location_id) FROM location)", with: "(SELECT location_id FROM location WHERE uuid = '\(location)')"))
        try await child.route()
        let pending = try await child.pending(for: parent.id)
        let metadata = try #require(pending.first { $0.channel == "metadata" })
        let clinical = try #require(pending.first { $0.channel == "clinical" })
        let failed = await parent.apply(try await child.batch(clinical))
        #expect(failed.status == .failed)
        // The clinical rows wait for the person (and the location) on the metadata channel.
        // The first row to miss the person: patient (keyed by it) or person_name (referring to it).
        #expect(["patient", "person_name"].contains(failed.failure?.table ?? ""), "\(String(describing: failed.failure))")
        #expect(failed.failure?.cause.contains(person) == true, "\(String(describing: failed.failure))")
        try await child.record(failed, from: parent.id)
        #expect(try await NodeStatus.read(parent).incomingErrors == 1)
        #expect(try await parent.database.scalar("SELECT COUNT(*) FROM person WHERE uuid = \(person)").int64 == 0, "a failed batch applies nothing")

        #expect(await parent.apply(try await child.batch(metadata)).status == .applied)
        let retried = await parent.apply(try await child.batch(clinical))
        #expect(retried.status == .applied, "\(String(describing: retried.failure))")
        #expect(try await NodeStatus.read(parent).incomingErrors == 0)
        let encounterLocation = try await parent.database.scalar("""
            SELECT l.uuid FROM encounter e JOIN location l ON l.location_id = e.location_id WHERE e.uuid = \(String(person.prefix(30)) + "enc001")
            """)
        #expect(encounterLocation == .text(location))
    }

    /// The users ↔ person cycle, roles and privileges with composite natural keys.
    @Test(arguments: [(TestDatabase.sqlite, TestDatabase.postgres), (.postgres, .mariadb)]
        .filter { TestDatabase.all.contains($0.0) && TestDatabase.all.contains($0.1) })
    func usersRolesAndPrivilegesTravelByNaturalKeys(childKind: TestDatabase, parentKind: TestDatabase) async throws {
        let (parent, _) = try await TestTree.node("central", group: "central", on: parentKind)
        let (child, childDB) = try await TestTree.node("clinic-1", group: "clinic", on: childKind)
        defer { Task { await parent.close(); await child.close() } }
        try await TestTree.link(child: child, to: parent)
        let person = Self.uuid(), user = Self.uuid(), selfMade = Self.uuid()
        let f = childKind == .postgres ? "false" : "0"
        let pid = "(SELECT person_id FROM person WHERE uuid = '\(person)')"
        let uid = "(SELECT user_id FROM users WHERE uuid = '\(user)')"
        try childDB.client("""
            INSERT INTO person (gender, creator, date_created, voided, uuid) VALUES ('M', 1, '2026-11-22 10:00:00', \(f), '\(person)');
            INSERT INTO users (system_id, username, creator, date_created, person_id, retired, uuid)
              VALUES ('nurse-7', 'nurse7', 1, '2026-11-22 10:00:00', \(pid), \(f), '\(user)');
            UPDATE person SET changed_by = \(uid), date_changed = '2026-11-22 10:01:00' WHERE uuid = '\(person)';
            INSERT INTO role (role, description, uuid) VALUES ('Ward Nurse', 'nurses on the ward', '\(Self.uuid())');
            INSERT INTO privilege (privilege, description, uuid) VALUES ('Edit Ward', 'edit the ward', '\(Self.uuid())');
            INSERT INTO role_privilege (role, privilege) VALUES ('Ward Nurse', 'Edit Ward');
            INSERT INTO user_role (user_id, role) VALUES (\(uid), 'Ward Nurse');
            INSERT INTO user_property (user_id, property, property_value) VALUES (\(uid), 'defaultLocale', 'fr');
            INSERT INTO users (user_id, system_id, username, creator, date_created, person_id, retired, uuid)
              VALUES (5000, 'self-made', 'selfmade', 5000, '2026-11-22 10:00:00', \(pid), \(f), '\(selfMade)');
            """)
        try await TestTree.settle(child, parent)
        #expect(try await NodeStatus.read(parent).incomingErrors == 0)
        let changedBy = try await parent.database.scalar("SELECT u.uuid FROM person p JOIN users u ON u.user_id = p.changed_by WHERE p.uuid = \(person)")
        #expect(changedBy == .text(user))
        let userPerson = try await parent.database.scalar("SELECT p.uuid FROM users u JOIN person p ON p.person_id = u.person_id WHERE u.uuid = \(user)")
        #expect(userPerson == .text(person))
        #expect(try await parent.database.scalar("SELECT COUNT(*) FROM role_privilege WHERE role = 'Ward Nurse' AND privilege = 'Edit Ward'").int64 == 1)
        let roleOfUser = try await parent.database.scalar("SELECT r.role FROM user_role r JOIN users u ON u.user_id = r.user_id WHERE u.uuid = \(user)")
        #expect(roleOfUser == .text("Ward Nurse"))
        // A NOT NULL reference to the row itself (OpenMRS's first user is its own creator).
        let creator = try await parent.database.scalar("SELECT c.uuid FROM users u JOIN users c ON c.user_id = u.creator WHERE u.uuid = \(selfMade)")
        #expect(creator == .text(selfMade))
        // A user's properties are the site's own (lockouts, default location): they stay there.
        #expect(try await parent.database.scalar("SELECT COUNT(*) FROM user_property p JOIN users u ON u.user_id = p.user_id WHERE u.uuid = \(user)").int64 == 0)
        // Removing the role from the user travels as a delete by composite key.
        try childDB.client("DELETE FROM user_role WHERE role = 'Ward Nurse';")
        try await TestTree.settle(child, parent)
        #expect(try await parent.database.scalar("SELECT COUNT(*) FROM user_role WHERE role = 'Ward Nurse'").int64 == 0)
        let differences = try await TableSnapshot.differences(child, parent, tables: ["person", "users", "role", "privilege", "role_privilege", "user_role"])
        #expect(differences.isEmpty, "\(differences.prefix(5))")
    }
}

/// `person_attribute.value` holds a row id when its type's format says so.
@Suite struct TypedValueTests {
    @Test(arguments: [(TestDatabase.sqlite, TestDatabase.mariadb), (.postgres, .sqlite)]
        .filter { TestDatabase.all.contains($0.0) && TestDatabase.all.contains($0.1) })
    func personAttributeValuesThatAreRowIdsAreTranslated(childKind: TestDatabase, parentKind: TestDatabase) async throws {
        // Locations the child had before Tributary ran, so that the same location has different ids.
        let g = childKind == .postgres ? "false" : "0"
        let before = (1...3).map { "INSERT INTO location (name, creator, date_created, retired, uuid) VALUES ('Old \($0)', 1, '2026-01-01 00:00:00', \(g), '\(SyncScenarioTests.uuid())');" }
        let (parent, _) = try await TestTree.node("central", group: "central", on: parentKind)
        let (child, childDB) = try await TestTree.node("clinic-1", group: "clinic", on: childKind, before: before.joined(separator: "\n"))
        defer { Task { await parent.close(); await child.close() } }
        try await TestTree.link(child: child, to: parent)
        let f = childKind == .postgres ? "false" : "0"
        let location = SyncScenarioTests.uuid(), person = SyncScenarioTests.uuid()
        let locType = SyncScenarioTests.uuid(), textType = SyncScenarioTests.uuid()
        try childDB.client("""
            INSERT INTO location (name, creator, date_created, retired, uuid) VALUES ('Home village', 1, '2026-11-22 10:00:00', \(f), '\(location)');
            INSERT INTO person_attribute_type (name, format, searchable, creator, date_created, retired, uuid)
              VALUES ('Home location', 'org.openmrs.Location', \(f), 1, '2026-11-22 10:00:00', \(f), '\(locType)');
            INSERT INTO person_attribute_type (name, format, searchable, creator, date_created, retired, uuid)
              VALUES ('Phone', 'java.lang.String', \(f), 1, '2026-11-22 10:00:00', \(f), '\(textType)');
            INSERT INTO person (gender, creator, date_created, voided, uuid) VALUES ('F', 1, '2026-11-22 10:00:00', \(f), '\(person)');
            INSERT INTO person_attribute (person_id, value, person_attribute_type_id, creator, date_created, voided, uuid)
              VALUES ((SELECT person_id FROM person WHERE uuid = '\(person)'), (SELECT CAST(location_id AS CHAR(10)) FROM location WHERE uuid = '\(location)'),
                      (SELECT person_attribute_type_id FROM person_attribute_type WHERE uuid = '\(locType)'), 1, '2026-11-22 10:00:00', \(f), '\(SyncScenarioTests.uuid())');
            INSERT INTO person_attribute (person_id, value, person_attribute_type_id, creator, date_created, voided, uuid)
              VALUES ((SELECT person_id FROM person WHERE uuid = '\(person)'), '0712345678',
                      (SELECT person_attribute_type_id FROM person_attribute_type WHERE uuid = '\(textType)'), 1, '2026-11-22 10:00:00', \(f), '\(SyncScenarioTests.uuid())');
            """)
        let childLocationID = try await child.database.scalar("SELECT location_id FROM location WHERE uuid = \(location)").int64
        try await TestTree.settle(child, parent)
        #expect(try await NodeStatus.read(parent).incomingErrors == 0)
        let parentLocationID = try #require(try await parent.database.scalar("SELECT location_id FROM location WHERE uuid = \(location)").int64)
        #expect(parentLocationID != childLocationID, "the test needs the ids to differ")
        let values = try await parent.database.query("""
            SELECT t.format, a.value FROM person_attribute a JOIN person_attribute_type t ON t.person_attribute_type_id = a.person_attribute_type_id
            JOIN person p ON p.person_id = a.person_id WHERE p.uuid = \(person) ORDER BY t.format
            """)
        #expect(values.map { $0.string("value") } == ["0712345678", String(parentLocationID)], "\(values)")
        let differences = try await TableSnapshot.differences(child, parent, tables: ["person_attribute", "person_attribute_type"])
        #expect(differences.isEmpty, "\(differences.prefix(5))")
    }
}
