import Foundation
import Testing
import TributaryCore
@testable import TributaryEngine
import TributarySQL

/// Initial loads in bulk: whole tables from a PostgreSQL parent as copies of one line of COPY
/// text per row, written at once into a PostgreSQL child, taken apart everywhere else.
@Suite struct BulkLoadTests {
    static func uuid() -> String { UUID().uuidString.lowercased() }

    /// SQL that writes a copy of the first obs under a new uuid.
    static func copyOfFirstObs(_ uuid: String) -> String {
        """
        INSERT INTO obs (person_id, concept_id, encounter_id, obs_datetime, location_id, creator, date_created, voided, uuid, status)
        SELECT person_id, concept_id, encounter_id, obs_datetime, location_id, creator, date_created, voided, '\(uuid)', status
        FROM obs ORDER BY obs_id LIMIT 1;
        """
    }

    @Test func theOpenMRSTablesThatQualifyAndHowTheirReferencesAreTranslated() async throws {
        let (node, _) = try await TestTree.node("central", group: "central", on: .sqlite, contents: .schemaOnly)
        defer { Task { await node.close() } }
        let catalog = node.catalog
        let obs = try #require(BulkPlan.make(catalog["obs"]!, catalog: catalog))
        #expect(obs.primaryKey == "obs_id" && !obs.columns.contains("obs_id") && obs.columns.contains("uuid"))
        let group = try #require(obs.translations.first { $0.column == "obs_group_id" })
        #expect(group.isSelf && group.nullable && obs.fastLoadable)
        #expect(obs.translations.first { $0.column == "concept_id" }?.uuidTable == "concept")
        // Chunks count the bytes of long values row by row (TEXT; VARCHAR(1000) is at most that).
        #expect(obs.wideColumns == ["value_text"])
        // A reference to a parent-keyed table is known by the parent's uuid, and its own row must exist.
        let encounter = try #require(BulkPlan.make(catalog["encounter"]!, catalog: catalog))
        let patient = try #require(encounter.translations.first { $0.column == "patient_id" })
        #expect(patient.uuidTable == "person" && patient.uuidTableKey == "person_id" && patient.viaTable == "patient")
        // A typed value (the row's type decides the table), a parent key, a natural key: row by row.
        #expect(BulkPlan.make(catalog["person_attribute"]!, catalog: catalog) == nil)
        #expect(BulkPlan.make(catalog["patient"]!, catalog: catalog) == nil)
        #expect(BulkPlan.make(catalog["role_privilege"]!, catalog: catalog) == nil)
    }

    @Test func valuesAreStagedInTheirColumnsTypeWithoutItsLength() {
        for (declared, cast) in [("character varying(255)", "character varying"), ("character(38)", "bpchar"), ("integer", "integer"),
                                 ("timestamp(6) without time zone", "timestamp without time zone"), ("numeric(10,2)", "numeric"),
                                 ("boolean", "boolean"), ("bytea", "bytea")] {
            #expect(BulkStatements.castType(declared) == cast, "\(declared)")
        }
    }

    /// Values that COPY text must escape, and values that look like its escapes.
    @Test func copyTextLinesAreReadBackAsWritten() {
        let values: [String?] = ["back\\slash", "tab\there", "new\nline", "carriage\rreturn", nil, "", "\\N", "N", "é 漢 😀", "\\t"]
        let line = CopyText.line(values)
        #expect(!line.contains("\n") && CopyText.isLine(line, count: values.count))
        #expect(CopyText.fields(line, count: values.count) == values)
        #expect(CopyText.fields(line, count: values.count + 1) == nil)
        #expect(CopyText.fields("a\nb", count: 1) == nil && CopyText.fields("a\\", count: 1) == nil)
        #expect(!CopyText.isLine("a\tb", count: 1) && CopyText.isLine("a\\\tb", count: 1))
    }

    /// Lines rewritten for a straight COPY: references replaced, self-references held back with
    /// their row's key, every other value (escapes, NULLs, a tab after a backslash) byte for byte.
    @Test func copyTextLinesAreRewrittenWithLocalIDs() {
        let person = "3e4f", encounter = "9a1b", group = "77aa"
        let lines = [
            CopyText.line(["u1", person, encounter, "tab\there \\N back\\slash", nil, group]),
            CopyText.line(["u2", person, nil, "", "\\N", nil]),
            "u3\t\(person)\t\(encounter)\tescaped\\\ttab\t\\N\t\\N",
        ]
        let values = CopyTextRewrite.values(of: lines, at: [1, 2, 5])
        #expect(values == [1: [person], 2: [encounter], 5: [group]])
        let fields: [Int: CopyTextRewrite.Field] = [1: .translate([person: "42"]), 2: .translate([encounter: "7"]), 5: .setNull]
        guard case .rewritten(let rewritten, let held) = CopyTextRewrite.rewrite(lines, count: 6, fields: fields, key: 0) else {
            Issue.record("not rewritten")
            return
        }
        #expect(CopyText.fields(rewritten[0], count: 6) == ["u1", "42", "7", "tab\there \\N back\\slash", nil, nil])
        #expect(CopyText.fields(rewritten[1], count: 6) == ["u2", "42", nil, "", "\\N", nil])
        #expect(rewritten[2] == "u3\t42\t7\tescaped\\\ttab\t\\N\t\\N")
        #expect(held == [CopyTextRewrite.Held(key: "u1", field: 5, value: group)])
        let missing = CopyTextRewrite.rewrite(lines, count: 6, fields: [1: .translate([:])], key: 0)
        #expect(missing == .unresolved(line: 0, field: 1, value: person))
        #expect(CopyTextRewrite.rewrite(lines, count: 7, fields: fields, key: 0) == .malformed(line: 0))
    }

    /// The parent's database writes each copied row as one line of COPY text; taken apart, the
    /// lines give the rows' values exactly (what a MariaDB or SQLite child receives).
    @Test func copiedRowsAreLinesOfCOPYTextThatTakeApartIntoTheirValues() async throws {
        guard TestDatabase.all.contains(.postgres) else { return }
        let (parent, _) = try await TestTree.node("central", group: "central", on: .postgres, before: """
            UPDATE obs SET value_text = E'back\\\\slash \\\\N "quoted" \\ttab \\nnew line \\rreturn, é 漢 😀', value_numeric = 0.1
            WHERE obs_id = (SELECT MAX(obs_id) FROM obs);
            """)
        defer { Task { await parent.close() } }
        let entry = try #require(parent.catalog["obs"])
        let plan = try #require(BulkPlan.make(entry, catalog: parent.catalog))
        let rows = try #require(try await parent.database.transaction { tx in
            try await BulkSnapshot.enqueue(plan, table: entry.table, for: "nobody", now: "CAST('2026-11-22 10:00:00' AS TIMESTAMP(6))", in: tx)
        })
        let copy = try #require(try await parent.database.scalar("SELECT name FROM tributary_identity WHERE name LIKE 'bulk_copy:%'").string)
        let lines = try await BulkSnapshot.lines(plan, table: entry.table, range: BulkRange(copy: String(copy.dropFirst("bulk_copy:".count)), from: 0, to: .max),
                                                 in: parent.database)
        #expect(rows > 0 && lines.count == rows && lines.allSatisfy { CopyText.isLine($0, count: plan.columns.count) })
        let descriptor = BulkDescriptor(table: "obs", columns: plan.columns, format: BulkDescriptor.copyText, originNode: "central",
                                        originTime: "2026-11-22 10:00:00.000000", originDepth: 0)
        let batch = Batch(header: BatchHeader(batchID: 1, source: "central", target: "nobody", channel: "clinical", count: lines.count, bulk: descriptor),
                          changes: [], bulkRows: lines)
        let changes = try BulkExpansion.batch(batch, descriptor: descriptor, catalog: parent.catalog).changes
        #expect(changes.count == rows && changes.allSatisfy { $0.row?["obs_id"] == nil && $0.row?["uuid"] != nil })
        let awkward = try #require(try await parent.database.query("SELECT uuid, value_text FROM obs WHERE value_numeric = 0.1").first)
        let change = try #require(changes.first { $0.key == [.string(awkward.string("uuid") ?? "")] }?.row)
        #expect(change["value_text"] == .string(awkward.string("value_text") ?? "") && change["value_numeric"] == .double(0.1))
        #expect(change["voided"] == .bool(false))
        if case .string(let when)? = change["obs_datetime"] { #expect(when.count >= 19 && when.hasPrefix("20")) } else { Issue.record("no obs_datetime") }
        guard case .key(let parts)? = change["person_id"], case .string(let person)? = parts.first else { Issue.record("person_id is not a key"); return }
        #expect(person.count == 36 && parts.count == 1)
    }

    /// A copy is dropped once every one of its markers is acknowledged, in whatever order
    /// (the last first, an earlier one sent again after a failure), and not before.
    @Test func aCopyStaysUntilEveryMarkerIsAcknowledgedInAnyOrder() async throws {
        guard TestDatabase.all.contains(.postgres) else { return }
        let (parent, _) = try await TestTree.node("central", group: "central", on: .postgres)
        defer { Task { await parent.close() } }
        let plan = try #require(BulkPlan.make(parent.catalog["obs"]!, catalog: parent.catalog))
        let target: NodeID = "clinic-9"
        let rows = try #require(try await parent.database.transaction { tx in
            try await BulkSnapshot.enqueue(plan, table: parent.catalog["obs"]!.table, for: target, now: "CAST('2026-11-22 10:00:00' AS TIMESTAMP(6))", chunk: 3, in: tx)
        })
        let markers = try await parent.database.query("""
            SELECT change_id FROM tributary_change WHERE operation = 'B' AND target_node = \(target.rawValue) ORDER BY change_id
            """).compactMap { $0.int("change_id") }
        #expect(rows >= 7 && markers.count == (rows + 2) / 3)
        try await parent.database.transaction { tx in
            for marker in markers { try await OutgoingBatches.create(tx, target: target, channel: "clinical", changeIDs: [marker]) }
        }
        var batches: [Int64] = []
        for marker in markers {
            batches.append(try #require(try await parent.database.scalar("SELECT batch_id FROM tributary_outgoing_change WHERE change_id = \(marker)").int64))
        }
        func copies() async throws -> Int64 {
            try await parent.database.scalar("SELECT COUNT(*) FROM pg_tables WHERE tablename LIKE 'tributary_bulk_%'").int64 ?? -1
        }
        #expect(try await copies() == 1)
        // The last marker first, then all but the second: the copy stays.
        let order = [batches.count - 1] + batches.indices.filter { $0 != 1 && $0 != batches.count - 1 }
        for index in order {
            #expect(try await parent.record(Ack(batchID: batches[index], status: .applied), from: target))
            #expect(try await copies() == 1, "dropped with marker \(index + 1) of \(batches.count) acknowledged")
        }
        // The second at last (sent again after a failure): now the copy goes, and a late duplicate harms nothing.
        try await parent.record(Ack(batchID: batches[1], status: .failed, failure: .init(table: "obs", key: nil, cause: "test")), from: target)
        #expect(try await copies() == 1)
        #expect(try await parent.record(Ack(batchID: batches[1], status: .applied), from: target))
        #expect(try await copies() == 0)
        #expect(try await parent.database.scalar("SELECT COUNT(*) FROM tributary_identity WHERE name LIKE 'bulk_copy:%'").int64 == 0)
        #expect(try await parent.record(Ack(batchID: batches[0], status: .applied, duplicate: true), from: target))
    }

    @Test func aBulkBatchTravelsAsItsLinesAndATruncatedOneIsRefused() throws {
        let descriptor = BulkDescriptor(table: "obs", columns: ["uuid", "value_text"], format: BulkDescriptor.copyText,
                                        originNode: "central", originTime: "2026-11-22 10:00:00.000000", originDepth: 0)
        let rows = [CopyText.line(["a", "tab\tand \"quote\""]), CopyText.line(["b", nil])]
        let batch = Batch(header: BatchHeader(batchID: 7, source: "central", target: "clinic", channel: "clinical", count: 2, bulk: descriptor),
                          changes: [], bulkRows: rows)
        let data = try BatchCodec.encode(batch)
        let decoded = try BatchCodec.decode(data)
        #expect(decoded.header.bulk == descriptor && decoded.bulkRows == rows && decoded.changes.isEmpty)
        let cut = data.prefix(data.count - 12)
        #expect(throws: SyncError.self) { try BatchCodec.decode(Data(cut)) }
        var broken = batch
        broken.bulkRows = ["a\tb\nc"]
        broken.header.count = 1
        #expect(throws: SyncError.self) { try BatchCodec.encode(broken) }
        // A line with a value too many is refused on arrival.
        let extra = String(decoding: data, as: UTF8.self).replacingOccurrences(of: "b\t\\N", with: "b\t\\N\tc")
        #expect(throws: SyncError.self) { try BatchCodec.decode(Data(extra.utf8)) }
    }

    /// A fresh PostgreSQL child: the qualifying tables arrive in bulk and are written at once,
    /// as a replica session (the test role may), so none of it is captured here; afterwards
    /// ordinary changes flow both ways over the loaded rows.
    @Test func aFreshPostgreSQLChildIsLoadedInBulkAndThenSyncsAsUsual() async throws {
        guard TestDatabase.all.contains(.postgres) else { return }
        // An obs group written after its members: their references point forward in the table.
        let group = Self.uuid()
        let (parent, _) = try await TestTree.node("central", group: "central", on: .postgres, before: Self.copyOfFirstObs(group) + """

            UPDATE obs SET obs_group_id = (SELECT obs_id FROM obs WHERE uuid = '\(group)')
            WHERE obs_id IN (SELECT obs_id FROM obs WHERE uuid <> '\(group)' ORDER BY obs_id LIMIT 3);
            UPDATE obs SET value_text = E'back\\\\slash "quoted" \\ttab \\nnew line, é 漢 😀', value_numeric = 0.1
            WHERE obs_id = (SELECT MAX(obs_id) FROM obs WHERE uuid <> '\(group)');
            """)
        let (child, childDB) = try await TestTree.node("clinic-1", group: "clinic", on: .postgres, contents: .coreData)
        defer { Task { await parent.close(); await child.close() } }
        try await TestTree.link(child: child, to: parent)
        #expect(try await parent.database.scalar("SELECT COUNT(*) FROM tributary_change WHERE operation = 'B' AND table_name = 'obs'").int64 ?? 0 > 0)
        // The first bulk batch delivered twice (its acknowledgment lost): applied once.
        try await parent.route()
        var replayed = false
        for pending in try await parent.pending(for: child.id) {
            let batch = try await parent.batch(pending)
            let first = await child.apply(batch)
            #expect(first.status == .applied, "\(first.failure?.cause ?? "")")
            guard batch.header.bulk != nil else { try await parent.record(first, from: child.id); continue }
            let table = batch.header.bulk!.table
            let rows = try await child.database.scalar("SELECT COUNT(*) FROM \(ident: table)").int64
            let again = await child.apply(batch)
            #expect(again.duplicate && again.status == .applied)
            #expect(try await child.database.scalar("SELECT COUNT(*) FROM \(ident: table)").int64 == rows)
            try await parent.record(again, from: child.id)
            replayed = true
            break
        }
        #expect(replayed)
        try await TestTree.quiesce([(child, parent)])
        #expect(try await child.initialLoadState() == .done)
        #expect(try await NodeStatus.read(child).incomingErrors == 0)
        var differences = try await TableSnapshot.differences(parent, child)
        #expect(differences.isEmpty, "\(differences.count) differences, e.g. \(differences.prefix(5))")
        let awkward = "SELECT value_text, value_numeric FROM obs WHERE value_text LIKE 'back%'"
        let there = try await parent.database.query(SQL(trusted: awkward)), here = try await child.database.query(SQL(trusted: awkward))
        #expect(there.count == 1 && here.count == 1 && there.first?.string("value_text") == here.first?.string("value_text")
                && here.first?.string("value_text")?.contains("\t") == true && here.first?.string("value_text")?.contains("\\") == true)
        #expect(here.first?["value_numeric"] == there.first?["value_numeric"])
        let obs = try await child.database.scalar("SELECT COUNT(*) FROM obs").int64 ?? 0
        let parentObs = try await parent.database.scalar("SELECT COUNT(*) FROM obs").int64
        #expect(obs > 0 && obs == parentObs)
        #expect(try await child.database.scalar("""
            SELECT COUNT(*) FROM obs o JOIN obs g ON g.obs_id = o.obs_group_id WHERE g.uuid = \(group)
            """).int64 == 3)
        #expect(try await child.database.scalar("SELECT COUNT(*) FROM tributary_change WHERE table_name = 'obs'").int64 == 0)
        #expect(child.bulkRowsWrittenAtOnce >= Int(obs))
        #expect(child.bulkRowsCopiedStraight >= Int(obs), "the obs went in by the staged path, not straight")
        // Every copy is dropped once its batches are acknowledged.
        #expect(try await parent.database.scalar("SELECT COUNT(*) FROM tributary_identity WHERE name LIKE 'bulk_copy:%'").int64 == 0)
        #expect(try await parent.database.scalar("SELECT COUNT(*) FROM pg_tables WHERE tablename LIKE 'tributary_bulk_%'").int64 == 0)

        // A new member of an existing obs group at the parent; an obs voided at the child.
        let member = Self.uuid()
        try await parent.database.execute("""
            INSERT INTO obs (person_id, concept_id, encounter_id, obs_datetime, location_id, obs_group_id, value_text,
                             creator, date_created, voided, uuid, status)
            SELECT person_id, concept_id, encounter_id, obs_datetime, location_id, obs_group_id, 'after the load',
                   creator, date_created, voided, \(member), status
            FROM obs WHERE obs_group_id IS NOT NULL ORDER BY obs_id LIMIT 1
            """)
        let voided = try await child.database.scalar("SELECT uuid FROM obs WHERE obs_group_id IS NULL ORDER BY obs_id DESC LIMIT 1").string!
        try childDB.client("UPDATE obs SET voided = true, void_reason = 'at the clinic', voided_by = 1, date_voided = '2026-11-22 10:00:00' WHERE uuid = '\(voided)';")
        try await TestTree.quiesce([(child, parent)])
        #expect(try await parent.database.scalar("SELECT void_reason FROM obs WHERE uuid = \(voided)") == .text("at the clinic"))
        let groupHere = try await child.database.scalar("SELECT g.uuid FROM obs o JOIN obs g ON g.obs_id = o.obs_group_id WHERE o.uuid = \(member)")
        let groupThere = try await parent.database.scalar("SELECT g.uuid FROM obs o JOIN obs g ON g.obs_id = o.obs_group_id WHERE o.uuid = \(member)")
        #expect(groupHere == groupThere && groupHere != .null)
        differences = try await TableSnapshot.differences(parent, child)
        #expect(differences.isEmpty, "after edits: \(differences.prefix(5))")
        #expect(try await TestTree.echoes(at: parent) == 0)
        #expect(try await TestTree.echoes(at: child) == 0)
    }

    /// The copies are unlogged: crash recovery empties them (TRUNCATE does the same here).
    /// The parent fills each again from its table when a marker finds it empty, so the
    /// child still receives every row, including one changed after the registration.
    @Test func aCopyEmptiedByCrashRecoveryIsFilledAgain() async throws {
        guard TestDatabase.all.contains(.postgres) else { return }
        let (parent, _) = try await TestTree.node("central", group: "central", on: .postgres)
        let (child, _) = try await TestTree.node("clinic-1", group: "clinic", on: .postgres, contents: .coreData)
        defer { Task { await parent.close(); await child.close() } }
        try await TestTree.link(child: child, to: parent)
        let copies = try await parent.database.query("""
            SELECT tablename FROM pg_tables t JOIN pg_class c ON c.relname = t.tablename
            WHERE tablename LIKE 'tributary_bulk_%' AND c.relpersistence = 'u'
            """).compactMap { $0.string("tablename") }
        #expect(copies.count >= 3, "the registration made \(copies.count) unlogged copies")
        for copy in copies { try await parent.database.execute("TRUNCATE \(ident: copy)") }
        try await parent.database.execute("UPDATE obs SET comments = 'after the registration' WHERE obs_id = (SELECT MIN(obs_id) FROM obs)")
        try await TestTree.quiesce([(child, parent)])
        #expect(try await child.initialLoadState() == .done)
        #expect(try await NodeStatus.read(child).incomingErrors == 0)
        let obs = try await child.database.scalar("SELECT COUNT(*) FROM obs").int64 ?? 0
        let parentObs = try await parent.database.scalar("SELECT COUNT(*) FROM obs").int64
        #expect(obs > 0 && obs == parentObs)
        #expect(try await child.database.scalar("SELECT COUNT(*) FROM obs WHERE comments = 'after the registration'").int64 == 1)
        let differences = try await TableSnapshot.differences(parent, child)
        #expect(differences.isEmpty, "\(differences.count) differences, e.g. \(differences.prefix(5))")
        #expect(try await parent.database.scalar("SELECT COUNT(*) FROM pg_tables WHERE tablename LIKE 'tributary_bulk_%'").int64 == 0)
    }

    /// With the default threshold, the sample data's small tables go row by row, sharing
    /// change batches (a bulk copy travels alone in its batch); the child ends up the same.
    @Test func smallTablesGoRowByRowSharingBatches() async throws {
        guard TestDatabase.all.contains(.postgres) else { return }
        let (parent, _) = try await TestTree.node("central", group: "central", on: .postgres, extra: "sync:\n  bulk_min_rows: 1000\n")
        let (child, _) = try await TestTree.node("clinic-1", group: "clinic", on: .postgres, contents: .coreData)
        defer { Task { await parent.close(); await child.close() } }
        try await TestTree.link(child: child, to: parent)
        #expect(try await parent.database.scalar("SELECT COUNT(*) FROM tributary_change WHERE operation = 'B'").int64 == 0)
        try await TestTree.quiesce([(child, parent)])
        #expect(child.bulkRowsWrittenAtOnce == 0)
        #expect(try await child.initialLoadState() == .done)
        let differences = try await TableSnapshot.differences(parent, child)
        #expect(differences.isEmpty, "\(differences.count) differences, e.g. \(differences.prefix(5))")
    }

    /// A child whose database role owns the OpenMRS tables but is no superuser cannot run as a
    /// replica session: the bulk rows are written at once all the same, with the foreign keys
    /// checked by PostgreSQL and every row captured with the parent as its source (so a child
    /// of this node would receive them), and nothing goes back up.
    @Test func aChildWithoutSuperuserRightsLoadsInBulkWithChecksAndCapture() async throws {
        guard TestDatabase.all.contains(.postgres) else { return }
        let (parent, _) = try await TestTree.node("central", group: "central", on: .postgres)
        let database = try await TestDatabase.postgres.fresh(.coreData)
        let role = "t_owner_" + UUID().uuidString.prefix(8).lowercased()
        let name = String(database.url[database.url.index(after: database.url.lastIndex(of: "/")!)...])
        try database.client("""
            CREATE ROLE \(role) LOGIN;
            ALTER DATABASE \(name) OWNER TO \(role);
            ALTER SCHEMA public OWNER TO \(role);
            DO $$ DECLARE r record; BEGIN
              FOR r IN SELECT tablename FROM pg_tables WHERE schemaname = 'public' LOOP
                EXECUTE format('ALTER TABLE %I OWNER TO \(role)', r.tablename);
              END LOOP;
            END $$;
            """)
        await database.database.close()
        let url = database.url.replacingOccurrences(of: "://postgres@", with: "://\(role)@")
        let child = try await SyncNode.open(try NodeConfiguration.parse("node:\n  id: clinic-1\n  group: clinic\ndatabase: \(url)\n"))
        defer { Task { await parent.close(); await child.close() } }
        #expect(try await child.database.scalar("SELECT rolsuper FROM pg_roles WHERE rolname = current_user") == .bool(false))
        try await TestTree.link(child: child, to: parent)
        try await TestTree.quiesce([(child, parent)])
        #expect(child.bulkRowsWrittenAtOnce >= (try await child.database.scalar("SELECT COUNT(*) FROM obs").int64).map(Int.init) ?? 1)
        // The obs are new here, so straight in; core data rows are here already, so staged.
        #expect(child.bulkRowsCopiedStraight >= (try await child.database.scalar("SELECT COUNT(*) FROM obs").int64).map(Int.init) ?? 1)
        #expect(child.bulkRowsCopiedStraight < child.bulkRowsWrittenAtOnce)
        #expect(try await child.initialLoadState() == .done)
        #expect(try await NodeStatus.read(child).incomingErrors == 0)
        let differences = try await TableSnapshot.differences(parent, child)
        #expect(differences.isEmpty, "\(differences.count) differences, e.g. \(differences.prefix(5))")
        let obs = try await parent.database.scalar("SELECT COUNT(*) FROM obs").int64
        #expect(try await child.database.scalar("SELECT COUNT(*) FROM tributary_change WHERE table_name = 'obs' AND source_node = 'central'").int64 == obs)
        #expect(try await TestTree.echoes(at: parent) == 0)
        #expect(try await TestTree.echoes(at: child) == 0)
    }

    /// Rows the child holds already (same uuids, one edited there) are not written at once:
    /// they go to the ordinary loader, matched and the parent's version kept, none doubled;
    /// the one obs only the parent has is written at once beside them.
    @Test func bulkRowsAlreadyHereAreMatchedNotDoubled() async throws {
        guard TestDatabase.all.contains(.postgres) else { return }
        let extra = Self.uuid()
        let (parent, _) = try await TestTree.node("central", group: "central", on: .postgres, before: Self.copyOfFirstObs(extra))
        let (child, _) = try await TestTree.node("clinic-1", group: "clinic", on: .postgres, contents: .coreAndSampleData,
                                                 before: "UPDATE obs SET comments = 'edited at the clinic' WHERE obs_id = (SELECT MIN(obs_id) FROM obs);")
        defer { Task { await parent.close(); await child.close() } }
        try await TestTree.link(child: child, to: parent)
        try await TestTree.quiesce([(child, parent)])
        #expect(try await child.initialLoadState() == .done)
        #expect(try await NodeStatus.read(child).incomingErrors == 0)
        let parentObs = try await parent.database.scalar("SELECT COUNT(*) FROM obs").int64
        #expect(try await child.database.scalar("SELECT COUNT(*) FROM obs").int64 == parentObs)
        #expect(try await child.database.scalar("SELECT COUNT(*) FROM obs WHERE comments = 'edited at the clinic'").int64 == 0)
        #expect(try await child.database.scalar("SELECT COUNT(*) FROM obs WHERE uuid = \(extra)").int64 == 1)
        #expect(child.bulkRowsWrittenAtOnce > 0)
        // Straight COPY stopped at the rows here; the staged path set them aside.
        #expect(child.bulkRowsCopiedStraight < child.bulkRowsWrittenAtOnce)
        // Written at once (as a replica session, so not captured), not by the ordinary loader.
        #expect(try await child.database.scalar("SELECT COUNT(*) FROM tributary_change WHERE new_row LIKE \("%" + extra + "%")").int64 == 0)
        let differences = try await TableSnapshot.differences(parent, child)
        #expect(differences.isEmpty, "\(differences.count) differences, e.g. \(differences.prefix(5))")
    }
}
