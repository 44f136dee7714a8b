import Logging
import TributaryCore
import TributarySQL

/// The receiving side of bulk rows on PostgreSQL: the lines go into a temporary table by
/// COPY, and one INSERT … SELECT writes them, each reference found by a join on uuid.
/// Only new rows are written this way; when any row is here already, a reference does not
/// resolve, or a constraint objects, the transaction is rolled back and the caller takes
/// the rows apart for the ordinary loader instead (`BulkExpansion`), which matches,
/// merges, waits and names the failing row as it always does.
///
/// With no children to pass the rows on to, and where the database allows it, the load
/// runs as a replica session, as PostgreSQL's own logical replication and `pg_restore
/// --disable-triggers` do: no foreign-key triggers (every reference was checked by the
/// joins here) and no capture (nothing here is for anyone). Otherwise capture records
/// the rows with the batch's origin, as for any loaded change.
struct BulkLoader {
    let database: any Database
    let catalog: TableCatalog
    let logger: Logger

    struct NotAtOnce: Error, CustomStringConvertible { let description: String }

    /// The acknowledgment when the rows were written here at once (or had been before); nil when they must be taken apart.
    func applyAtOnce(_ batch: Batch, descriptor: BulkDescriptor, hasChildren: Bool) async -> Ack? {
        guard database.syntax == .postgres, descriptor.format == "postgres", let entry = catalog[descriptor.table],
              let plan = BulkPlan.make(entry, catalog: catalog), plan.fastLoadable,
              Set(plan.columns) == Set(descriptor.columns) else { return nil }
        let header = batch.header
        do {
            let outcome: (applied: Int, duplicate: Bool) = try await database.transaction { tx in
                let seen = try await tx.query("SELECT 1 FROM tributary_incoming_batch WHERE source_node = \(header.source.rawValue) AND batch_id = \(header.batchID)")
                if !seen.isEmpty { return (0, true) }
                let replica = hasChildren ? false : try await Self.replicaSession(tx)
                let dialect = CaptureDialects.dialect(for: tx.syntax)
                if !replica {
                    for statement in dialect.markLoader(source: header.source.rawValue, originNode: descriptor.originNode.rawValue, originTime: descriptor.originTime) {
                        _ = try await tx.query(statement)
                    }
                }
                try await tx.execute("CREATE TEMP TABLE IF NOT EXISTS tributary_bulk_rows (line jsonb) ON COMMIT DELETE ROWS")
                try await tx.insertRows(into: "tributary_bulk_rows", columns: ["line"], rows: batch.bulkRows.map { [.text($0)] })
                try await write(plan, rows: batch.bulkRows.count, tx)
                try await PendingReferences.resolve(catalog: catalog, resolver: KeyResolver(db: tx, catalog: catalog), tx: tx)
                try await tx.execute("UPDATE tributary_incoming_error SET resolved = \(true) WHERE source_node = \(header.source.rawValue) AND batch_id = \(header.batchID)")
                try await tx.execute("""
                    INSERT INTO tributary_incoming_batch (source_node, batch_id, channel, change_count, applied_at)
                    VALUES (\(header.source.rawValue), \(header.batchID), \(header.channel), \(batch.bulkRows.count), \(SQLValue.datetime(Clock.nowText())))
                    """)
                return (batch.bulkRows.count, false)
            }
            logger.debug("bulk rows written at once", metadata: ["batch": "\(header.batchID)", "table": "\(descriptor.table)", "rows": "\(outcome.applied)"])
            return Ack(batchID: header.batchID, status: .applied, applied: outcome.applied, duplicate: outcome.duplicate)
        } catch {
            logger.debug("bulk rows taken apart", metadata: ["batch": "\(header.batchID)", "table": "\(descriptor.table)", "why": "\(error)"])
            return nil
        }
    }

    /// Switches the transaction to a replica session when the database allows it (superuser).
    static func replicaSession(_ tx: any SQLExecutor) async throws -> Bool {
        try await tx.execute("SAVEPOINT tributary_replica")
        do {
            try await tx.execute("SET LOCAL session_replication_role = replica")
            return true
        } catch {
            try await tx.execute("ROLLBACK TO SAVEPOINT tributary_replica")
            return false
        }
    }

    /// The INSERT … SELECT, the references into the table itself, and the check that every
    /// reference found its row (a NULL from a join would otherwise pass silently).
    func write(_ plan: BulkPlan, rows: Int, _ tx: any SQLExecutor) async throws {
        let q = tx.syntax.quote, lit = tx.syntax.literal
        let table = q(plan.table)
        // In the column's own type, so that its index serves: CHAR(38) against text compares as text.
        func uuid(of target: String, _ text: String) -> String {
            FixedChar.isFixed(catalog[target]?.table.column("uuid")?.declaredType ?? "") ? "CAST(\(text) AS bpchar)" : text
        }
        let ownUUID = uuid(of: plan.table, "s.line ->> 'uuid'")
        if !(try await tx.query(SQL(trusted: "SELECT 1 FROM tributary_bulk_rows s JOIN \(table) t ON t.\(q("uuid")) = \(ownUUID) LIMIT 1")).isEmpty) {
            throw NotAtOnce(description: "some rows are here already")
        }
        var joins: [String] = [], values: [String: String] = [:], missing: [String] = []
        for (i, translation) in plan.translations.enumerated() {
            let text = "s.line ->> \(lit(translation.column))"
            let alias = "r\(i)"
            joins.append("LEFT JOIN \(q(translation.uuidTable)) \(alias) ON \(alias).\(q("uuid")) = \(uuid(of: translation.uuidTable, text))")
            var value = "\(alias).\(q(translation.uuidTableKey))"
            if let via = translation.viaTable, let column = translation.viaColumn {
                joins.append("LEFT JOIN \(q(via)) v\(i) ON v\(i).\(q(column)) = \(value)")
                value = "v\(i).\(q(column))"
            }
            values[translation.column] = translation.isSelf ? "NULL" : value
            missing.append("(\(text) IS NOT NULL AND \(value) IS NULL)")
        }
        let translated = plan.translations.map { " - " + lit($0.column) }.joined()
        let columns = plan.columns.map(q).joined(separator: ", ")
        let selected = plan.columns.map { values[$0] ?? "p.\(q($0))" }.joined(separator: ", ")
        let inserted = try await tx.execute(SQL(trusted: """
            INSERT INTO \(table) (\(columns))
            SELECT \(selected) FROM tributary_bulk_rows s
            CROSS JOIN LATERAL jsonb_populate_record(NULL::\(table), s.line\(translated)) p
            \(joins.joined(separator: " "))
            """))
        guard inserted == rows else { throw NotAtOnce(description: "\(inserted) rows written for \(rows) lines") }
        for translation in plan.translations where translation.isSelf {
            try await tx.execute(SQL(trusted: """
                UPDATE \(table) t SET \(q(translation.column)) = g.\(q(plan.primaryKey))
                FROM tributary_bulk_rows s JOIN \(table) g ON g.\(q("uuid")) = \(uuid(of: plan.table, "s.line ->> " + lit(translation.column)))
                WHERE t.\(q("uuid")) = \(ownUUID)
                """))
        }
        guard !missing.isEmpty else { return }
        let unresolved = try await tx.query(SQL(trusted: """
            SELECT s.line ->> 'uuid' AS key FROM tributary_bulk_rows s \(joins.joined(separator: " "))
            WHERE \(missing.joined(separator: " OR ")) LIMIT 1
            """))
        if let row = unresolved.first { throw NotAtOnce(description: "a reference of \(row.string("key") ?? "?") is not here") }
    }
}
