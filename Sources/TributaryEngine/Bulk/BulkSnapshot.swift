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
    static let chunk = 10_000
    /// Lines are held as plain strings, not taken apart: a chunk may carry more bytes than a batch of changes.
    static let chunkBytes: Int64 = 8 * 1024 * 1024
    static let registryPrefix = "bulk_copy:"

    /// Copies the table and writes its markers addressed to `target`; returns the rows, or
    /// nil when a reference does not resolve (the per-row snapshot then reports it).
    static func enqueue(_ plan: BulkPlan, for target: NodeID, now: SQL, chunk: Int = BulkSnapshot.chunk, in tx: any SQLExecutor) async throws -> Int? {
        let q = tx.syntax.quote
        let copy = "tributary_bulk_" + String(Secrets.make().filter(\.isLetter).lowercased().prefix(12))
        // The rows as they are, and beside them, for each table referenced, its ids and uuids
        // at this moment (`maps`): the uuids are joined in as each chunk is read, so this
        // statement (inside the registration) stays short. Copying with the uuids joined in
        // took 2.8 s for a million obs, the rows alone 0.8 s. Ranges are of the table's own key.
        try await tx.execute(SQL(trusted: "CREATE TABLE \(q(copy)) AS SELECT t.\(q(plan.primaryKey)) AS tributary_seq, t.* FROM \(q(plan.table)) t"))
        let counted = try await tx.query(SQL(trusted: "SELECT COUNT(*) AS n, pg_relation_size('\(copy)'::regclass) AS size FROM \(q(copy))")).first
        let rows = counted?.int("n") ?? 0
        var dangles = false
        if rows > 0 {
            for (map, source) in maps(plan, copy: copy) {
                try await tx.execute(SQL(trusted: "CREATE TABLE \(q(map)) AS SELECT \(q(source.key)) AS id, \(q("uuid"))::text AS uuid FROM \(q(source.table))"))
                try await tx.execute(SQL(trusted: "CREATE UNIQUE INDEX ON \(q(map)) (id)"))
                try await tx.execute(SQL(trusted: "ANALYZE \(q(map))"))
            }
            // A declared foreign key holds at this snapshot; a reference only the profile knows may not.
            for (i, translation) in plan.translations.enumerated() where !translation.isSelf && !translation.declared {
                let column = q(translation.column), map = q(mapName(plan, copy: copy, translation: i))
                dangles = try await !tx.query(SQL(trusted: """
                    SELECT 1 FROM \(q(copy)) c WHERE c.\(column) IS NOT NULL AND NOT EXISTS (SELECT 1 FROM \(map) m WHERE m.id = c.\(column)) LIMIT 1
                    """)).isEmpty
                if dangles { break }
            }
        }
        if rows == 0 || dangles {
            try await drop(copy, tx)
            return rows == 0 ? 0 : nil
        }
        try await tx.execute(SQL(trusted: "CREATE UNIQUE INDEX ON \(q(copy)) (tributary_seq)"))
        // A chunk's bytes: the copy's average row, plus what its long values hold row by row.
        // Summing each whole row's size took 1.1 s for a million obs, this 0.4 s.
        let bytes = ["\(max(1, (counted?.int("size") ?? 0) / rows))"] + plan.wideColumns.map { "coalesce(octet_length(c.\(q($0))), 0)" }
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

    /// The wire form of a marker's batch: the header names the table and its columns, the
    /// lines are the copy's rows in the marker's range.
    static func batch(_ marker: CapturedChange, range: BulkRange, pending: OutgoingBatches.Pending, node: SyncNode) async throws -> Batch {
        guard let entry = node.catalog[marker.table], let plan = BulkPlan.make(entry, catalog: node.catalog) else {
            throw SyncError.notEnabled(marker.table)
        }
        let rows = try await lines(plan, table: entry.table, range: range, in: node.database)
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
        let rows = try await db.transaction { tx in
            // The text of dates, floats and bytes as COPY reads it back everywhere, whatever
            // this server's own settings (floats in full: pg_dump asks for the same).
            try await tx.execute("SET LOCAL DateStyle = 'ISO, YMD'")
            try await tx.execute("SET LOCAL extra_float_digits = 3")
            try await tx.execute("SET LOCAL bytea_output = 'hex'")
            let (joins, dangling) = uuidJoins(plan, copy: range.copy, syntax: tx.syntax)
            return try await tx.query("""
                SELECT \(SQL(trusted: line(plan, table: table, syntax: tx.syntax))) AS line, \(SQL(trusted: dangling)) AS dangling,
                       c.\(ident: "uuid")::text AS uuid
                FROM \(ident: range.copy) c \(SQL(trusted: joins))
                WHERE c.tributary_seq >= \(range.from) AND c.tributary_seq <= \(range.to) ORDER BY c.tributary_seq
                """)
        }
        // A copy whose map lacks a referenced row: never sent with the reference left out.
        if let row = rows.first(where: { $0["dangling"] == .bool(true) }) {
            throw SyncError.protocolError("\(plan.table) \(row.string("uuid") ?? "?") references a row that is not in its copy's snapshot")
        }
        return rows.map { $0.string("line") ?? "" }
    }

    /// The tables a copy keeps beside it: for each table referenced (once however many
    /// columns point at it), its ids and uuids at the snapshot. The copy is its own map.
    static func maps(_ plan: BulkPlan, copy: String) -> [(name: String, source: (table: String, key: String))] {
        var seen = Set<String>(), maps: [(String, (String, String))] = []
        for (i, translation) in plan.translations.enumerated() where !translation.isSelf {
            let name = mapName(plan, copy: copy, translation: i)
            if seen.insert(name).inserted { maps.append((name, (translation.uuidTable, translation.uuidTableKey))) }
        }
        return maps
    }

    /// The map a translation reads: one per referenced table and key column.
    static func mapName(_ plan: BulkPlan, copy: String, translation i: Int) -> String {
        let t = plan.translations[i]
        let first = plan.translations.firstIndex { !$0.isSelf && $0.uuidTable == t.uuidTable && $0.uuidTableKey == t.uuidTableKey } ?? i
        return "\(copy)_m\(first)"
    }

    /// Joins giving each reference's uuid (`u<i>.uuid`), and whether a row has one that does not resolve.
    static func uuidJoins(_ plan: BulkPlan, copy: String, syntax: SQLSyntax) -> (joins: String, dangling: String) {
        let q = syntax.quote
        var joins: [String] = [], dangling: [String] = []
        for (i, translation) in plan.translations.enumerated() {
            let column = "c.\(q(translation.column))"
            joins.append(translation.isSelf
                ? "LEFT JOIN \(q(copy)) u\(i) ON u\(i).tributary_seq = \(column)"
                : "LEFT JOIN \(q(mapName(plan, copy: copy, translation: i))) u\(i) ON u\(i).id = \(column)")
            dangling.append("(\(column) IS NOT NULL AND u\(i).\(q("uuid")) IS NULL)")
        }
        return (joins.joined(separator: " "), dangling.isEmpty ? "false" : dangling.joined(separator: " OR "))
    }

    /// A copied row as one line of COPY text: every column but the generated id, in the
    /// plan's order, references as uuids (`uuidJoins`). Built by the database: 0.4 s for
    /// 200,000 obs, where a JSON object per row took 0.9 s and came out 2.6 times as long.
    static func line(_ plan: BulkPlan, table: TableSchema, syntax: SQLSyntax) -> String {
        let q = syntax.quote
        let translated = Dictionary(plan.translations.enumerated().map { ($1.column, $0) }, uniquingKeysWith: { first, _ in first })
        return plan.columns.map { column in
            let value = translated[column].map { "u\($0).\(q("uuid"))::text" } ?? "c.\(q(column))::text"
            // Numbers, dates and booleans print no backslash, tab or line break; text may hold any.
            let kind: ColumnKind = translated[column] != nil ? .text : table.column(column)?.kind ?? .text
            let text = kind == .text || kind == .binary
                ? #"replace(replace(replace(replace(\#(value), E'\\', E'\\\\'), E'\t', E'\\t'), E'\n', E'\\n'), E'\r', E'\\r')"#
                : value
            return #"coalesce(\#(text), E'\\N')"#
        }.joined(separator: #" || E'\t' || "#)
    }

    /// Drops a copy and its maps.
    static func drop(_ copy: String, _ tx: any SQLExecutor) async throws {
        let maps = try await tx.query("SELECT tablename::text AS name FROM pg_tables WHERE tablename LIKE \(copy + "\\_m%")").compactMap { $0.string("name") }
        for table in [copy] + maps { try await tx.execute("DROP TABLE IF EXISTS \(ident: table)") }
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
                try await drop(copy, tx)
                try await tx.execute("DELETE FROM tributary_identity WHERE name = \(registryPrefix + copy)")
            }
        }
    }
}
