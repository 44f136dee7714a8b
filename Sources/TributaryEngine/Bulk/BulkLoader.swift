import Foundation
import Logging
import TributaryCore
import TributarySQL

/// The receiving side of bulk rows on PostgreSQL. Where the uuid is unique the lines go
/// straight into their table by COPY, references translated on the way (`BulkDirectCopy`).
/// Otherwise, or when that COPY objects, they go as they are into a temporary table, each
/// value in its column's type, and one INSERT … SELECT writes the new ones, each reference
/// found by a join on uuid. Rows here already (matched by uuid) are left to the ordinary
/// loader, which updates them as it updates any snapshot row. When a
/// reference does not resolve or a constraint objects (a row colliding on another unique
/// key must be merged), everything is rolled back and the caller takes all the rows apart
/// instead (`BulkExpansion`): the ordinary loader matches, merges, waits and names the
/// failing row as it always does.
///
/// With no children to pass the rows on to, and where the database allows it, the load
/// runs as a replica session, as PostgreSQL's logical replication and `pg_restore
/// --disable-triggers` do: no foreign-key triggers (every reference was found here, by a
/// lookup or a join) and no capture (nothing here is for anyone). Otherwise capture records
/// the rows with the batch's origin, as for any loaded change.
struct BulkLoader {
    let database: any Database
    let catalog: TableCatalog
    let logger: Logger
    /// Counts the rows copied straight into their table (`BulkDirectCopy`).
    var copiedStraight = Locked(0)

    enum Outcome {
        /// Every row written (or the batch had been applied before).
        case applied(Ack)
        /// The new rows written and committed; these lines (rows here already) are left to the
        /// ordinary loader, which records the batch. Delivered again, the written rows are matched.
        case rest([String], written: Int)
        /// Nothing written: take every row apart.
        case takeApart
    }

    struct NotAtOnce: Error, CustomStringConvertible { let description: String }

    func apply(_ batch: Batch, descriptor: BulkDescriptor, hasChildren: Bool) async -> Outcome {
        guard database.syntax == .postgres, descriptor.format == BulkDescriptor.copyText, let entry = catalog[descriptor.table],
              let plan = BulkPlan.make(entry, catalog: catalog), plan.fastLoadable,
              Set(plan.columns) == Set(descriptor.columns) else { return .takeApart }
        let header = batch.header
        let straight = Locked(false)
        do {
            let outcome: Outcome = try await database.transaction { tx in
                let seen = try await tx.query("SELECT 1 FROM tributary_incoming_batch WHERE source_node = \(header.source.rawValue) AND batch_id = \(header.batchID)")
                if !seen.isEmpty { return .applied(Ack(batchID: header.batchID, status: .applied, duplicate: true)) }
                let replica = hasChildren ? false : try await Self.replicaSession(tx)
                if replica {
                    // No one below to send these rows to: not captured (the triggers fire in replica sessions too).
                    _ = try await tx.query(PostgresCapture.skipCapture)
                } else {
                    for statement in CaptureDialects.dialect(for: tx.syntax).markLoader(
                        source: header.source.rawValue, originNode: descriptor.originNode.rawValue, originTime: descriptor.originTime) {
                        _ = try await tx.query(statement)
                    }
                }
                let statements = BulkStatements(plan: plan, catalog: catalog, syntax: tx.syntax)
                try await tx.execute("SET LOCAL DateStyle = 'ISO, YMD'")
                if BulkDirectCopy.applies(to: plan, catalog: catalog) {
                    switch try await BulkDirectCopy(plan: plan, catalog: catalog, columns: descriptor.columns).write(batch.bulkRows, tx) {
                    case .written:
                        straight.set(true)
                        return try await finish(header, rows: batch.bulkRows.count, tx)
                    case .refused(let why):
                        logger.debug("bulk rows staged", metadata: ["batch": "\(header.batchID)", "table": "\(descriptor.table)", "why": "\(why)"])
                    }
                }
                try await tx.execute(SQL(trusted: "CREATE TEMP TABLE \(BulkStatements.staging) (\(try statements.stagingColumns(descriptor.columns))) ON COMMIT DROP"))
                try await tx.copyLines(into: BulkStatements.staging, columns: [BulkStatements.lineNumber] + descriptor.columns, lines: batch.bulkRows, numbered: true)
                // A temporary table has no statistics until asked. Without them the planner
                // guessed it large and hashed the whole target table for every batch: 925 ms
                // a batch against a million obs, 16 ms with them (probing the uuid index).
                try await tx.execute(SQL(trusted: "ANALYZE \(BulkStatements.staging)"))
                let here = try await statements.write(rows: batch.bulkRows.count, tx)
                if !here.isEmpty {
                    return .rest(here.sorted().map { batch.bulkRows[$0] }, written: batch.bulkRows.count - here.count)
                }
                return try await finish(header, rows: batch.bulkRows.count, tx)
            }
            logger.debug("bulk rows written at once", metadata: ["batch": "\(header.batchID)", "table": "\(descriptor.table)"])
            if straight.value { copiedStraight.withLock { $0 += batch.bulkRows.count } }  // counted once committed
            return outcome
        } catch {
            logger.debug("bulk rows taken apart", metadata: ["batch": "\(header.batchID)", "table": "\(descriptor.table)", "why": "\(error)"])
            return .takeApart
        }
    }

    /// Once every row is written: references waiting on them, and the batch recorded as applied.
    func finish(_ header: BatchHeader, rows: Int, _ tx: any SQLExecutor) async throws -> Outcome {
        if try await PendingReferences.count(tx) > 0 {
            try await PendingReferences.resolve(catalog: catalog, resolver: KeyResolver(db: tx, catalog: catalog), tx: tx)
        }
        try await tx.execute("UPDATE tributary_incoming_error SET resolved = \(true) WHERE source_node = \(header.source.rawValue) AND batch_id = \(header.batchID)")
        try await tx.execute("""
            INSERT INTO tributary_incoming_batch (source_node, batch_id, channel, change_count, applied_at)
            VALUES (\(header.source.rawValue), \(header.batchID), \(header.channel), \(rows), \(SQLValue.datetime(Clock.nowText())))
            """)
        return .applied(Ack(batchID: header.batchID, status: .applied, applied: rows))
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
}

/// The statements that write staged bulk rows of one table (`staging`).
struct BulkStatements {
    let plan: BulkPlan
    let catalog: TableCatalog
    let syntax: SQLSyntax

    /// The temporary table the lines are copied into, dropped at commit.
    static let staging = "tributary_bulk_stage"
    /// Its first column: the line's place in the batch.
    static let lineNumber = "tributary_line"

    func q(_ name: String) -> String { syntax.quote(name) }

    /// A staged value's type: the column's type without its length (the INSERT checks the
    /// length); `bpchar` for CHAR(n), since a bare `character` means CHAR(1).
    static func castType(_ declared: String) -> String {
        if FixedChar.isFixed(declared) { return "bpchar" }
        guard let open = declared.firstIndex(of: "("), let close = declared[open...].firstIndex(of: ")") else { return declared }
        return (String(declared[..<open]) + declared[declared.index(after: close)...]).trimmingCharacters(in: .whitespaces)
    }

    /// The staging table's columns, in the lines' order after the line number: each value in
    /// its column's type without length (COPY parses it; the INSERT checks the length), each
    /// reference as the uuid of the table it points at, in that column's own type so that its
    /// join probes the uuid index (a CHAR(38) compared with text is compared as text).
    func stagingColumns(_ columns: [String]) throws -> String {
        guard let schema = catalog[plan.table]?.table else { throw BulkLoader.NotAtOnce(description: "no table \(plan.table)") }
        let references = Dictionary(plan.translations.map { ($0.column, $0.uuidTable) }, uniquingKeysWith: { first, _ in first })
        return try (["\(Self.lineNumber) integer"] + columns.map { column in
            let declared = references[column].map { catalog[$0]?.table.column("uuid")?.declaredType ?? "text" } ?? schema.column(column)?.declaredType
            guard let declared else { throw BulkLoader.NotAtOnce(description: "no column \(column)") }
            return "\(q(column)) \(Self.castType(declared))"
        }).joined(separator: ", ")
    }

    /// Writes the staged rows that are new here; returns the line numbers of those that are here already.
    func write(rows: Int, _ tx: any SQLExecutor) async throws -> Set<Int> {
        // Where the uuid is unique, the INSERT itself finds a row that is here already (and
        // is then tried again after the rows here are set aside): looking first cost 5,000
        // index probes a batch, 17 s of a million-row load.
        if catalog[plan.table]?.table.uniqueConstraints.contains(["uuid"]) == true {
            try await tx.execute("SAVEPOINT tributary_bulk_insert")
            do {
                try await write(rows: rows, here: [], tx)
                return []
            } catch {
                try await tx.execute("ROLLBACK TO SAVEPOINT tributary_bulk_insert")
            }
        }
        let here = Set(try await tx.query(SQL(trusted: """
            DELETE FROM \(Self.staging) s USING \(q(plan.table)) t WHERE t.\(q("uuid")) = s.\(q("uuid")) RETURNING s.\(Self.lineNumber)
            """)).compactMap { $0.int(Self.lineNumber).map(Int.init) })
        guard here.count < rows else { throw BulkLoader.NotAtOnce(description: "every row is here already") }
        try await write(rows: rows, here: here, tx)
        return here
    }

    /// Writes the staged rows (those `here` set aside already).
    func write(rows: Int, here: Set<Int>, _ tx: any SQLExecutor) async throws {
        let table = q(plan.table), uuid = q("uuid")
        var joins: [String] = [], values: [String] = [], missing: [String] = [], byColumn: [String: String] = [:]
        for (i, translation) in plan.translations.enumerated() where !translation.isSelf {
            let staged = "s.\(q(translation.column))"
            joins.append("LEFT JOIN \(q(translation.uuidTable)) r\(i) ON r\(i).\(uuid) = \(staged)")
            var value = "r\(i).\(q(translation.uuidTableKey))"
            if let via = translation.viaTable, let column = translation.viaColumn {
                // Through a parent-keyed table: its row must exist too (`patient` for `person`).
                joins.append("LEFT JOIN \(q(via)) v\(i) ON v\(i).\(q(column)) = \(value)")
                value = "v\(i).\(q(column))"
            }
            let resolved = q("tributary_ref_" + translation.column)
            values.append("\(value) AS \(resolved)")
            byColumn[translation.column] = "src.\(resolved)"
            missing.append("(\(staged) IS NOT NULL AND \(value) IS NULL)")
        }
        for translation in plan.translations where translation.isSelf { byColumn[translation.column] = "NULL" }
        let selected = plan.columns.map { byColumn[$0] ?? "src.\(q($0))" }.joined(separator: ", ")
        // One pass of joins both translates and finds what does not resolve.
        let result = try await tx.query(SQL(trusted: """
            WITH src AS MATERIALIZED (
              SELECT s.*\(values.map { ", " + $0 }.joined()), \(missing.isEmpty ? "false" : missing.joined(separator: " OR ")) AS tributary_unresolved
              FROM \(Self.staging) s \(joins.joined(separator: " "))),
            ins AS (
              INSERT INTO \(table) (\(plan.columns.map(q).joined(separator: ", ")))
              SELECT \(selected) FROM src
              RETURNING 1)
            SELECT (SELECT COUNT(*) FROM ins) AS inserted, (SELECT \(uuid)::text FROM src WHERE tributary_unresolved LIMIT 1) AS unresolved
            """))
        if let key = result.first?.string("unresolved") { throw BulkLoader.NotAtOnce(description: "a reference of \(key) is not here") }
        let inserted = Int(result.first?.int("inserted") ?? -1)
        guard inserted == rows - here.count else { throw BulkLoader.NotAtOnce(description: "\(inserted) rows written for \(rows - here.count) lines") }

        for translation in plan.translations where translation.isSelf {
            let staged = "s.\(q(translation.column))"
            guard !(try await tx.query(SQL(trusted: "SELECT 1 FROM \(Self.staging) s WHERE \(staged) IS NOT NULL LIMIT 1")).isEmpty) else { continue }
            try await tx.execute(SQL(trusted: """
                UPDATE \(table) t SET \(q(translation.column)) = g.\(q(plan.primaryKey))
                FROM \(Self.staging) s JOIN \(table) g ON g.\(uuid) = \(staged)
                WHERE \(staged) IS NOT NULL AND t.\(uuid) = s.\(uuid)
                """))
            let unresolved = try await tx.query(SQL(trusted: """
                SELECT s.\(uuid)::text AS key FROM \(Self.staging) s LEFT JOIN \(table) g ON g.\(uuid) = \(staged)
                WHERE \(staged) IS NOT NULL AND g.\(q(plan.primaryKey)) IS NULL LIMIT 1
                """))
            if let key = unresolved.first?.string("key") { throw BulkLoader.NotAtOnce(description: "\(translation.column) of \(key) is not here") }
        }
    }
}
