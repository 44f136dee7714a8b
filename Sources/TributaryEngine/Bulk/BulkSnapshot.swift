import Foundation
import TributaryCore
import TributarySQL

/// The sending side of bulk rows (PostgreSQL). At a snapshot, a table that qualifies
/// (`BulkPlan`) is copied by one statement into a table of its own, each row with the
/// uuids of the rows it references beside it: consistent with the snapshot's place in
/// the change log, as the per-row snapshot is. The change log gets one marker per range
/// of at most `chunk` rows and about `chunkBytes` instead of one change per row; a marker
/// travels alone in its batch, read as one line of COPY text per row, and the copy is dropped
/// once every marker of it is acknowledged.
public enum BulkSnapshot {
    static let markerOperation = "B"
    public static let chunk = 10_000
    /// Lines are held as plain strings, not taken apart: a chunk may carry more bytes than a batch of changes.
    static let chunkBytes: Int64 = 8 * 1024 * 1024
    static let registryPrefix = "bulk_copy:"

    /// Copies the table and writes its markers addressed to `target`; returns the rows, or
    /// nil when a reference does not resolve (the per-row snapshot then reports it).
    static func enqueue(_ plan: BulkPlan, table: TableSchema, for target: NodeID, now: SQL, chunk: Int = BulkSnapshot.chunk, in tx: any SQLExecutor) async throws -> Int? {
        let q = tx.syntax.quote
        let copy = "tributary_bulk_" + String(Secrets.make().filter(\.isLetter).lowercased().prefix(12))
        // Unlogged: writing a million obs rows' copy to the WAL cost 0.5–0.9 s of the
        // registration. Crash recovery empties it; `batch` then fills it again (`refill`).
        // The lines are made as each chunk is read, so this statement (inside the
        // registration) stays short: 0.14 s for 100,000 obs, where building the lines here
        // took 0.6 s. Ranges are of the table's own key: numbering the rows here doubled the
        // statement (4.6 s for a million obs).
        try await tx.execute(SQL(trusted: "CREATE UNLOGGED TABLE \(q(copy)) AS " + copyQuery(plan, syntax: tx.syntax)))
        let counted = try await tx.query(SQL(trusted: """
            SELECT COUNT(*) AS n, bool_or(tributary_dangling) AS dangles, pg_relation_size('\(copy)'::regclass) AS size FROM \(q(copy))
            """)).first
        let rows = counted?.int("n") ?? 0
        let dangles = counted?["dangles"] == .bool(true)
        if rows == 0 || dangles {
            try await tx.execute(SQL(trusted: "DROP TABLE \(q(copy))"))
            return rows == 0 ? 0 : nil
        }
        try await tx.execute(SQL(trusted: "CREATE UNIQUE INDEX ON \(q(copy)) (tributary_seq)"))
        // A chunk's bytes: the average line of the first rows, plus what the long values hold
        // row by row. Summing each whole row's size took 1.1 s for a million obs, this 0.4 s;
        // the copy's own rows (ids and uuids side by side) are 2.5 times their lines.
        let sampled = try await tx.scalar(SQL(trusted: """
            SELECT CAST(avg(octet_length(\(line(plan, table: table, syntax: tx.syntax)))) AS bigint)
            FROM (SELECT * FROM \(q(copy)) LIMIT 1000) c
            """)).int64
        let average = sampled.map(Int.init) ?? (counted?.int("size").map(Int.init) ?? 0) / Int(rows)
        let bytes = ["\(max(1, average))"] + plan.wideColumns.map { "coalesce(octet_length(c.\(q($0))), 0)" }
        let before = try await tx.scalar("SELECT MAX(change_id) FROM tributary_change").int64 ?? 0
        try await tx.execute("""
            INSERT INTO tributary_change (table_name, operation, pk, new_row, old_row, captured_at, transaction_id,
              source_node, origin_node, origin_time, target_node)
            SELECT \(plan.table), \(markerOperation), json_build_object('copy', \(copy), 'from', MIN(seq), 'to', MAX(seq))::text,
                   NULL, NULL, \(now), NULL, NULL, NULL, \(now), \(target.rawValue)
            FROM (SELECT tributary_seq AS seq, (row_number() OVER w - 1) / \(chunk) AS n,
                         SUM(\(SQL(trusted: bytes.joined(separator: " + ")))) OVER w / \(chunkBytes) AS b
                  FROM \(ident: copy) c WINDOW w AS (ORDER BY tributary_seq)) x
            GROUP BY n, b ORDER BY MIN(seq)
            """)
        // Only this copy's markers: a change captured meanwhile by another session may fall between them.
        let markers = try await tx.query("""
            SELECT MIN(change_id) AS first, MAX(change_id) AS last FROM tributary_change
            WHERE change_id > \(before) AND operation = \(markerOperation) AND table_name = \(plan.table) AND target_node = \(target.rawValue)
            """).first
        let range = "\(markers?.int("first") ?? 0) \(markers?.int("last") ?? 0)"
        try await tx.execute("INSERT INTO tributary_identity (name, value) VALUES (\(registryPrefix + copy), \(range))")
        return Int(rows)
    }

    /// The table's rows as they are, with the uuids of the rows they reference beside them.
    static func copyQuery(_ plan: BulkPlan, syntax: SQLSyntax) -> String {
        let q = syntax.quote
        var joins: [String] = [], uuids: [String] = [], danglingIf: [String] = []
        for (i, translation) in plan.translations.enumerated() {
            let alias = "r\(i)"
            // Through a parent-keyed table the ids are the parent's: `patient_id` is a `person_id`.
            joins.append("LEFT JOIN \(q(translation.uuidTable)) \(alias) ON \(alias).\(q(translation.uuidTableKey)) = t.\(q(translation.column))")
            // As text: a CHAR(38) uuid (most OpenMRS tables) would otherwise keep its padding.
            uuids.append("\(alias).\(q("uuid"))::text AS \(q(refColumn(translation.column)))")
            danglingIf.append("(t.\(q(translation.column)) IS NOT NULL AND \(alias).\(q("uuid")) IS NULL)")
        }
        return """
            SELECT t.\(q(plan.primaryKey)) AS tributary_seq, t.*\(uuids.map { ", " + $0 }.joined()),
                   \(danglingIf.isEmpty ? "false" : danglingIf.joined(separator: " OR ")) AS tributary_dangling
            FROM \(q(plan.table)) t \(joins.joined(separator: " "))
            """
    }

    /// Fills a copy that crash recovery emptied (it is unlogged) from the table as it is now,
    /// once, whoever asks first. Rows changed since the snapshot come in their newer version
    /// and their changes follow as usual (a change meeting its own values is no conflict);
    /// rows deleted since are left out, and their deletes find nothing to delete.
    static func refill(_ plan: BulkPlan, copy: String, in db: any Database) async throws -> Bool {
        try await db.transaction { tx in
            try await tx.execute("LOCK TABLE \(ident: copy) IN SHARE ROW EXCLUSIVE MODE")
            guard try await tx.query("SELECT 1 FROM \(ident: copy) LIMIT 1").isEmpty else { return false }
            try await tx.execute(SQL(trusted: "INSERT INTO \(tx.syntax.quote(copy)) " + copyQuery(plan, syntax: tx.syntax)))
            return true
        }
    }

    /// The wire form of a marker's batch: the header names the table and its columns, the
    /// lines are the copy's rows in the marker's range.
    static func batch(_ marker: CapturedChange, range: BulkRange, pending: OutgoingBatches.Pending, node: SyncNode) async throws -> Batch {
        guard let entry = node.catalog[marker.table], let plan = BulkPlan.make(entry, catalog: node.catalog) else {
            throw SyncError.notEnabled(marker.table)
        }
        var rows = try await lines(plan, table: entry.table, range: range, in: node.database)
        // Every marker's range holds at least one row: none means crash recovery emptied the
        // unlogged copy. Sending nothing would lose those rows at the child without a word.
        if rows.isEmpty {
            if try await refill(plan, copy: range.copy, in: node.database) {
                node.logger.warning("a bulk copy was emptied by crash recovery and filled again from the table as it is now",
                                    metadata: ["table": "\(plan.table)", "target": "\(pending.target)"])
            }
            rows = try await lines(plan, table: entry.table, range: range, in: node.database)
        }
        // Rows deleted since may leave a range empty after a refill: the batch then carries none.
        let depths = try await OriginDepths.read(node.database)
        let origin = marker.originNode ?? node.id.rawValue
        let descriptor = BulkDescriptor(table: plan.table, columns: plan.columns, format: BulkDescriptor.copyText, originNode: NodeID(origin),
                                        originTime: marker.originTime,
                                        originDepth: OriginDepths.depth(of: origin, known: depths, local: (node.id, node.depth)))
        return Batch(header: BatchHeader(batchID: pending.batchID, source: node.id, target: pending.target, channel: pending.channel,
                                         count: rows.count, bulk: descriptor), changes: [], bulkRows: rows)
    }

    /// The copy's rows in a range, one line of COPY text each.
    static func lines(_ plan: BulkPlan, table: TableSchema, range: BulkRange, in db: any Database) async throws -> [String] {
        try await db.transaction { tx in
            // The text of dates, floats and bytes as COPY reads it back everywhere, whatever
            // this server's own settings (floats in full: pg_dump asks for the same).
            try await tx.execute("SET LOCAL DateStyle = 'ISO, YMD'")
            try await tx.execute("SET LOCAL extra_float_digits = 3")
            try await tx.execute("SET LOCAL bytea_output = 'hex'")
            return try await tx.query("""
                SELECT \(SQL(trusted: line(plan, table: table, syntax: tx.syntax))) AS line FROM \(ident: range.copy) c
                WHERE tributary_seq >= \(range.from) AND tributary_seq <= \(range.to) ORDER BY tributary_seq
                """).map { $0.string("line") ?? "" }
        }
    }

    /// The copy's column holding a reference's uuid.
    static func refColumn(_ column: String) -> String { "tributary_ref_" + column }

    /// A copied row as one line of COPY text: every column but the generated id, in the
    /// plan's order, references as uuids. Built by the database: 0.4 s for 200,000 obs, where
    /// a JSON object per row took 0.9 s and came out 2.6 times as long.
    static func line(_ plan: BulkPlan, table: TableSchema, syntax: SQLSyntax) -> String {
        let q = syntax.quote
        let translated = Set(plan.translations.map(\.column))
        return plan.columns.map { column in
            let value = "c.\(q(translated.contains(column) ? refColumn(column) : column))::text"
            // Numbers, dates and booleans print no backslash, tab or line break; text may hold any.
            let kind: ColumnKind = translated.contains(column) ? .text : table.column(column)?.kind ?? .text
            let text = kind == .text || kind == .binary
                ? #"replace(replace(replace(replace(\#(value), E'\\', E'\\\\'), E'\t', E'\\t'), E'\n', E'\\n'), E'\r', E'\\r')"#
                : value
            return #"coalesce(\#(text), E'\\N')"#
        }.joined(separator: #" || E'\t' || "#)
    }

    /// After a bulk batch is acknowledged: drops its copy once every marker of it is. Markers
    /// are acknowledged in order unless one failed, so the whole copy is looked at only once
    /// its last marker is acknowledged: looking at every acknowledgment cost 4 s of a
    /// million-row load, the planner not trusting the index on a table growing that fast.
    static func dropFinished(_ db: any Database, acked batchID: Int64) async throws {
        let markers = try await db.query("""
            SELECT c.change_id, c.pk, c.table_name, c.target_node FROM tributary_outgoing_change o JOIN tributary_change c ON c.change_id = o.change_id
            WHERE o.batch_id = \(batchID) AND c.operation = \(markerOperation)
            """)
        for marker in markers {
            guard let key = try? ImageDecoding.image(marker.string("pk") ?? ""), case .string(let copy)? = key["copy"],
                  let range = try await db.scalar("SELECT value FROM tributary_identity WHERE name = \(registryPrefix + copy)").string else { continue }
            let ends = range.split(separator: " ").compactMap { Int64($0) }
            guard ends.count == 2 else { continue }
            if marker.int("change_id") != ends[1] {
                let lastAcked = try await db.query("""
                    SELECT 1 FROM tributary_outgoing_change o JOIN tributary_outgoing_batch b ON b.batch_id = o.batch_id
                    WHERE o.change_id = \(ends[1]) AND b.status = 'acked'
                    """)
                guard !lastAcked.isEmpty else { continue }
            }
            let open = try await db.scalar("""
                SELECT COUNT(*) FROM tributary_change c
                WHERE c.change_id >= \(ends[0]) AND c.change_id <= \(ends[1]) AND c.operation = \(markerOperation)
                  AND c.table_name = \(marker.string("table_name") ?? "") AND c.target_node = \(marker.string("target_node") ?? "")
                  AND NOT EXISTS (SELECT 1 FROM tributary_outgoing_change o JOIN tributary_outgoing_batch b ON b.batch_id = o.batch_id
                                  WHERE o.change_id = c.change_id AND b.status = 'acked')
                """).int64 ?? 0
            guard open == 0 else { continue }
            try await db.transaction { tx in
                try await tx.execute("DROP TABLE IF EXISTS \(ident: copy)")
                try await tx.execute("DELETE FROM tributary_identity WHERE name = \(registryPrefix + copy)")
            }
        }
    }
}
