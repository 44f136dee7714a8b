import Foundation
import Testing
import TributaryCore
@testable import TributaryEngine
import TributarySQL

/// A PostgreSQL node copies incoming rows as a replica session where its role may
/// (`ReplicaCopy`): PostgreSQL's foreign-key triggers do not fire, so the loader checks and
/// locks every key itself, and the capture triggers still write the change log. Also what
/// the loader does where its role may not create the temporary table of stamps.
@Suite struct ReplicaCopyTests {

    /// Every column of obs but its id: a key column left out would take its default unchecked.
    static func columns(_ obs: TableSchema) -> [String] { obs.columns.map(\.name).filter { $0 != "obs_id" } }

    /// The first obs's values for `columns` under `uuid`, `changes` applied.
    static func obsRow(_ db: any SQLExecutor, columns: [String], uuid: String, changes: [String: SQLValue] = [:]) async throws -> [SQLValue] {
        let row = try #require(try await db.query("SELECT * FROM obs ORDER BY obs_id LIMIT 1").first)
        return columns.map { column in changes[column] ?? (column == "uuid" ? .text(uuid) : row[column]) }
    }

    @Test func onlySingleColumnKeysWithIntegerValuesAreCheckedThisWay() async throws {
        let (node, _) = try await TestTree.node("central", group: "central", on: .sqlite, contents: .schemaOnly)
        defer { Task { await node.close() } }
        let obs = try #require(node.catalog["obs"]).table
        let columns = Self.columns(obs)
        let row = columns.map { column -> SQLValue in
            switch column {
            case "person_id": .integer(7)
            case "encounter_id": .integer(3)
            case "uuid": .text("u")
            default: obs.foreignKey(on: column) == nil ? .text("x") : .null
            }
        }
        let second = row.enumerated().map { columns[$0.offset] == "person_id" ? SQLValue.integer(8) : $0.element }
        let checks = try #require(ReplicaCopy.checks(obs, columns: columns, rows: [row, second, row]))
        // One statement per key column that carries values; NULLs need none.
        #expect(checks.map(\.column).sorted() == ["encounter_id", "person_id"])
        #expect(checks.first { $0.column == "person_id" }?.values == [7, 8])
        #expect(checks.first { $0.column == "person_id" }?.target == "person")
        // A key column left to its default, or a value that is not an integer: the ordinary way.
        #expect(ReplicaCopy.checks(obs, columns: columns.filter { $0 != "concept_id" }, rows: [Array(row.dropLast())]) == nil)
        let textKey = row.enumerated().map { columns[$0.offset] == "person_id" ? SQLValue.text("7") : $0.element }
        #expect(ReplicaCopy.checks(obs, columns: columns, rows: [textKey]) == nil)
    }

    @Test(arguments: [true, false])
    func rowsFromAChildAreCopiedAsAReplicaSessionAndStillCaptured(replicaCopy: Bool) async throws {
        guard TestDatabase.all.contains(.postgres) else { return }
        let (parent, _) = try await TestTree.node("central", group: "central", on: .postgres, extra: "sync:\n  replica_copy: \(replicaCopy)\n")
        let (child, childDB) = try await TestTree.node("clinic-1", group: "clinic", on: .sqlite)
        defer { Task { await parent.close(); await child.close() } }
        #expect(parent.copiesAsReplica == replicaCopy, "the test servers' role is a superuser")
        try await TestTree.link(child: child, to: parent)
        try await TestTree.settle(child, parent)
        let person = SyncFlowTests.uuid()
        try childDB.client(SyncFlowTests.patientScript(.sqlite, person: person, family: "Achieng"))
        let acks = try await TestTree.deliver(from: child, to: parent)
        #expect(!acks.isEmpty && acks.allSatisfy { $0.status == .applied }, "\(acks)")
        #expect(replicaCopy ? parent.rowsCopiedAsReplica >= 11 : parent.rowsCopiedAsReplica == 0, "\(parent.rowsCopiedAsReplica)")
        let prefix = String(person.prefix(30))
        let memberGroup = try await parent.database.scalar("SELECT g.uuid FROM obs m JOIN obs g ON g.obs_id = m.obs_group_id WHERE m.uuid = \(prefix + "obs002")")
        #expect(memberGroup == .text(prefix + "obs001"))
        // Captured at the parent in the replica session, with the child as source: it flows on, not back.
        let captured = try await parent.database.scalar("""
            SELECT COUNT(*) FROM tributary_change WHERE table_name = 'obs' AND source_node = 'clinic-1' AND new_row LIKE \("%" + prefix + "%")
            """).int64
        #expect(captured == 3)
        #expect(try await TestTree.deliver(from: parent, to: child).isEmpty, "no echo")
        let differences = try await TableSnapshot.differences(child, parent, tables: ["person", "person_name", "patient", "patient_identifier",
                                                                                     "visit", "encounter", "obs", "orders", "drug_order"])
        #expect(differences.isEmpty, "\(differences.prefix(10))")
    }

    @Test func aReplicaCopyChecksAndLocksEveryForeignKey() async throws {
        guard TestDatabase.all.contains(.postgres) else { return }
        let (node, test) = try await TestTree.node("central", group: "central", on: .postgres)
        defer { Task { await node.close() } }
        let obs = try #require(node.catalog["obs"]).table
        let counter = Locked(0)
        // A reference to no row: the batch's transaction fails with the key named, nothing is written.
        let dangling = SyncFlowTests.uuid()
        await #expect {
            try await node.database.transaction { tx in
                let row = try await Self.obsRow(tx, columns: Self.columns(obs), uuid: dangling, changes: ["encounter_id": .integer(987_654)])
                _ = try await ReplicaCopy(counter: counter).write(obs, columns: Self.columns(obs), rows: [row], tx: tx)
            }
        } throws: { "\($0)".contains("encounter_id = 987654 is not present in encounter") }
        #expect(try await node.database.scalar("SELECT COUNT(*) FROM obs WHERE uuid = \(dangling)").int64 == 0)

        // A good row is written and captured; until commit, the rows it points at are locked
        // against a key change or delete, as PostgreSQL's own check would lock them.
        let good = SyncFlowTests.uuid()
        let other = try await Databases.connect(test.url)
        defer { Task { await other.close() } }
        let encounter = try #require(try await node.database.scalar("SELECT encounter_id FROM obs ORDER BY obs_id LIMIT 1").int64)
        try await node.database.transaction { tx in
            let row = try await Self.obsRow(tx, columns: Self.columns(obs), uuid: good)
            #expect(try await ReplicaCopy(counter: counter).write(obs, columns: Self.columns(obs), rows: [row], tx: tx))
            await #expect(throws: (any Error).self) {
                try await other.execute("SELECT encounter_id FROM encounter WHERE encounter_id = \(encounter) FOR UPDATE NOWAIT")
            }
        }
        #expect(counter.value == 1)
        #expect(try await node.database.scalar("SELECT COUNT(*) FROM tributary_change WHERE table_name = 'obs' AND new_row LIKE \("%" + good + "%")").int64 == 1)
        _ = try await other.query("SELECT encounter_id FROM encounter WHERE encounter_id = \(encounter) FOR UPDATE NOWAIT")
    }

    /// A key pointing at a partitioned table is found in its partitions, as PostgreSQL's own check finds it.
    @Test func aKeyToAPartitionedTableIsCheckedAcrossItsPartitions() async throws {
        guard TestDatabase.all.contains(.postgres) else { return }
        let test = try await TestDatabase.postgres.fresh(nil)
        defer { Task { await test.close() } }
        try test.client("""
            CREATE TABLE visit_log (id integer PRIMARY KEY) PARTITION BY RANGE (id);
            CREATE TABLE visit_log_low PARTITION OF visit_log FOR VALUES FROM (0) TO (100);
            CREATE TABLE visit_log_high PARTITION OF visit_log FOR VALUES FROM (100) TO (1000);
            INSERT INTO visit_log VALUES (7), (700);
            CREATE TABLE visit_note (id serial PRIMARY KEY, log_id integer REFERENCES visit_log (id));
            """)
        let schema = TableSchema(name: "visit_note", columns: [], primaryKey: ["id"], uniqueConstraints: [],
                                 foreignKeys: [ForeignKey(name: "visit_note_log_id_fkey", columns: ["log_id"], referencedTable: "visit_log", referencedColumns: ["id"])])
        let counter = Locked(0)
        let written = try await test.database.transaction { tx in
            try await ReplicaCopy(counter: counter).write(schema, columns: ["log_id"], rows: [[.integer(7)], [.integer(700)]], tx: tx)
        }
        #expect(written)
        #expect(counter.value == 2)
        await #expect {
            try await test.database.transaction { tx in
                _ = try await ReplicaCopy(counter: counter).write(schema, columns: ["log_id"], rows: [[.integer(8)]], tx: tx)
            }
        } throws: { "\($0)".contains("log_id = 8 is not present in visit_log") }
        #expect(try await test.database.scalar("SELECT COUNT(*) FROM visit_note").int64 == 2)
    }

    @Test func aTableWithATriggerOfTheSitesOwnIsCopiedTheOrdinaryWay() async throws {
        guard TestDatabase.all.contains(.postgres) else { return }
        let (parent, parentDB) = try await TestTree.node("central", group: "central", on: .postgres)
        let (child, childDB) = try await TestTree.node("clinic-1", group: "clinic", on: .sqlite)
        defer { Task { await parent.close(); await child.close() } }
        try await TestTree.link(child: child, to: parent)
        try await TestTree.settle(child, parent)
        // A site's audit trigger: a replica session would skip it.
        try parentDB.client("""
            CREATE TABLE site_obs_audit (uuid varchar(38));
            CREATE FUNCTION site_obs_audit() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN INSERT INTO site_obs_audit VALUES (NEW.uuid); RETURN NULL; END $$;
            CREATE TRIGGER site_obs_audit AFTER INSERT ON obs FOR EACH ROW EXECUTE FUNCTION site_obs_audit();
            """)
        let person = SyncFlowTests.uuid()
        try childDB.client(SyncFlowTests.patientScript(.sqlite, person: person, family: "Wanjiru"))
        let acks = try await TestTree.deliver(from: child, to: parent)
        #expect(!acks.isEmpty && acks.allSatisfy { $0.status == .applied }, "\(acks)")
        #expect(try await parent.database.scalar("SELECT COUNT(*) FROM site_obs_audit WHERE uuid LIKE \(String(person.prefix(30)) + "%")").int64 == 3)
        // The other tables still went the fast way.
        #expect(parent.rowsCopiedAsReplica > 0)
    }

    @Test func aRoleWithoutTheRightCopiesTheOrdinaryWayUntilGrantedIt() async throws {
        guard TestDatabase.all.contains(.postgres) else { return }
        let test = try await TestDatabase.postgres.fresh(.schemaOnly)
        defer { Task { await test.close() } }
        let role = "r_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
        try await test.database.execute(SQL(trusted: "CREATE ROLE \(role) LOGIN"))
        guard case .postgres(let e) = try DatabaseURL(test.url) else { throw TestFailure("not PostgreSQL") }
        let url = "postgres://\(role)@\(e.host):\(e.port)/\(test.url.split(separator: "/").last!)"
        let plain = try await Databases.connect(url)
        #expect(await ReplicaCopy.permitted(plain) == false)
        await plain.close()
        try await test.database.execute(SQL(trusted: "GRANT SET ON PARAMETER session_replication_role TO \(role)"))
        let granted = try await Databases.connect(url)
        #expect(await ReplicaCopy.permitted(granted))
        await granted.close()
        try await test.database.execute(SQL(trusted: "REVOKE SET ON PARAMETER session_replication_role FROM \(role)"))
        try await test.database.execute(SQL(trusted: "DROP ROLE \(role)"))
    }

    /// The loader hands stamps to the insert trigger through a temporary table; a role that
    /// may not create one has its stamps fixed afterwards, in a transaction that goes on.
    @Test func aRoleWithoutTemporaryTablesHasItsStampsFixedAfterwards() async throws {
        guard TestDatabase.all.contains(.postgres) else { return }
        let test = try await TestDatabase.postgres.fresh(.schemaOnly)
        defer { Task { await test.close() } }
        let role = "r_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
        let name = String(test.url.split(separator: "/").last!)
        try await test.database.execute(SQL(trusted: "CREATE ROLE \(role) LOGIN"))
        guard case .postgres(let e) = try DatabaseURL(test.url) else { throw TestFailure("not PostgreSQL") }
        let connect = { try await Databases.connect("postgres://\(role)@\(e.host):\(e.port)/\(name)") }
        let allowed = try await connect()
        #expect(try await allowed.transaction { tx in try await Loader.stampTableReady(tx) })
        await allowed.close()
        try await test.database.execute(SQL(trusted: "REVOKE TEMPORARY ON DATABASE \(name) FROM PUBLIC"))
        let refused = try await connect()
        let outcome = try await refused.transaction { tx in
            (try await Loader.stampTableReady(tx), try await tx.scalar("SELECT 1").int64)
        }
        #expect(outcome.0 == false && outcome.1 == 1, "the transaction goes on")
        await refused.close()
        try await test.database.execute(SQL(trusted: "DROP ROLE \(role)"))
    }
}
