import TributarySQL

/// PostgreSQL: per table, a statement trigger for inserts and a row trigger for updates and
/// deletes. Row images are `to_jsonb` of the whole row, so a column added later is in the
/// image at once; the loader's mark is `set_config(…, true)`, which ends with its transaction.
public struct PostgresCapture: CaptureDialect {
    public var syntax: SQLSyntax { .postgres }
    public init() {}

    func setting(_ name: String) -> String { "NULLIF(current_setting('tributary.\(name)', true), '')" }

    public func installTriggers(for table: TableSchema, keyColumns: [String]) -> [String] {
        let function = quote(triggerName(table.name, "capture"))
        let key = { (row: String) in
            "json_build_object(" + keyColumns.map { literal($0) + ", \(row).\(quote($0))" }.joined(separator: ", ") + ")::text"
        }
        // Statement time, as MariaDB's UTC_TIMESTAMP(6): the rows of one statement share an
        // origin stamp, so the loader marks its session once for them.
        let now = "(statement_timestamp() AT TIME ZONE 'UTC')"
        let insertFunction = quote(triggerName(table.name, "capture_insert"))
        let origin = "\(setting("source_node")), \(setting("origin_node")), COALESCE(\(setting("origin_time"))::timestamp, \(now))"
        // The loader's stamps for the rows it is about to write (`StampFixes.writeAhead`), by
        // the row's uuid or key: each row takes its own origin as it is captured.
        var stamped = ""
        if let column = Self.stampColumn(table, keyColumns: keyColumns) {
            let stampOrigin = "\(setting("source_node")), COALESCE(s.origin_node, \(setting("origin_node"))), "
                + "COALESCE(s.origin_time, \(setting("origin_time"))::timestamp, \(now))"
            stamped = """
                  IF current_setting('tributary.stamps', true) = 'on' THEN
                    INSERT INTO tributary_change (\(changeColumns))
                    SELECT \(literal(table.name)), 'I', \(key("n")), to_jsonb(n)::text, NULL, \(now), txid_current()::text, \(stampOrigin)
                    FROM tributary_inserted n LEFT JOIN pg_temp.tributary_stamp s ON s.table_name = \(literal(table.name)) AND s.value = n.\(quote(column))::text;
                    RETURN NULL;
                  END IF;

                """
        }
        return [
            // Inserts are captured once per statement from its transition table: a multi-row
            // INSERT or COPY (the loader's, a bulk import) costs about a third of what a
            // row trigger does; one-row statements cost the same.
            """
            CREATE OR REPLACE FUNCTION \(insertFunction)() RETURNS trigger LANGUAGE plpgsql AS $body$
            BEGIN
              IF \(Self.captureOff) THEN RETURN NULL; END IF;
            \(stamped)  INSERT INTO tributary_change (\(changeColumns))
              SELECT \(literal(table.name)), 'I', \(key("n")), to_jsonb(n)::text, NULL, \(now), txid_current()::text, \(origin)
              FROM tributary_inserted n;
              RETURN NULL;
            END
            $body$
            """,
            """
            CREATE OR REPLACE FUNCTION \(function)() RETURNS trigger LANGUAGE plpgsql AS $body$
            DECLARE
              new_image jsonb;
              old_image jsonb;
            BEGIN
              IF \(Self.captureOff) THEN RETURN NULL; END IF;
              IF TG_OP <> 'DELETE' THEN new_image := to_jsonb(NEW); END IF;
              old_image := to_jsonb(OLD);
              IF TG_OP = 'UPDATE' AND new_image = old_image THEN RETURN NULL; END IF;
              INSERT INTO tributary_change (\(changeColumns)) VALUES (
                \(literal(table.name)), left(TG_OP, 1),
                CASE WHEN TG_OP = 'DELETE' THEN \(key("OLD")) ELSE \(key("NEW")) END,
                new_image::text, old_image::text, \(now), txid_current()::text, \(origin));
              RETURN NULL;
            END
            $body$
            """,
            "DROP TRIGGER IF EXISTS tributary_capture ON \(quote(table.name))",
            "DROP TRIGGER IF EXISTS tributary_capture_insert ON \(quote(table.name))",
            "CREATE TRIGGER tributary_capture AFTER UPDATE OR DELETE ON \(quote(table.name)) FOR EACH ROW EXECUTE FUNCTION \(function)()",
            """
            CREATE TRIGGER tributary_capture_insert AFTER INSERT ON \(quote(table.name))
            REFERENCING NEW TABLE AS tributary_inserted FOR EACH STATEMENT EXECUTE FUNCTION \(insertFunction)()
            """,
            // Also in a replica session: the loader copies rows as one where it may (`ReplicaCopy`).
            "ALTER TABLE \(quote(table.name)) ENABLE ALWAYS TRIGGER tributary_capture",
            "ALTER TABLE \(quote(table.name)) ENABLE ALWAYS TRIGGER tributary_capture_insert",
        ]
    }

    /// The column a loader's stamp names an inserted row of this table by: its uuid, else
    /// its one key column (a patient's `patient_id`); nil when neither.
    public static func stampColumn(_ table: TableSchema, keyColumns: [String]) -> String? {
        if table.column("uuid") != nil { return "uuid" }
        return keyColumns.count == 1 ? keyColumns[0] : nil
    }

    /// Where the loader puts its stamps for the rows it is about to write, in its session.
    public static let stampTable: SQL = """
        CREATE TEMP TABLE IF NOT EXISTS tributary_stamp (
          table_name text NOT NULL, value text NOT NULL, origin_node text NOT NULL, origin_time timestamp(6) NOT NULL,
          PRIMARY KEY (table_name, value))
        """

    /// True in a transaction that writes rows no one is to receive from this node (a leaf's
    /// initial load, `BulkLoader`): the capture triggers fire in replica sessions too.
    static let captureOff = "current_setting('tributary.capture', true) = 'off'"

    /// Turns capture off until the transaction ends.
    public static let skipCapture: SQL = "SELECT set_config('tributary.capture', 'off', true)"

    public func removeTriggers(for table: String) -> [String] {
        ["DROP TRIGGER IF EXISTS tributary_capture ON \(quote(table))",
         "DROP TRIGGER IF EXISTS tributary_capture_insert ON \(quote(table))",
         "DROP FUNCTION IF EXISTS \(quote(triggerName(table, "capture")))()",
         "DROP FUNCTION IF EXISTS \(quote(triggerName(table, "capture_insert")))()"]
    }

    public func markLoader(source: String, originNode: String, originTime: String) -> [SQL] {
        ["SELECT set_config('tributary.source_node', \(source), true), set_config('tributary.origin_node', \(originNode), true), set_config('tributary.origin_time', \(originTime), true)"]
    }

    public func clearLoader() -> [SQL] { [] }

    /// The uuid is cut out of the image text rather than parsed: in `to_jsonb(…)::text` a quote
    /// inside a value is escaped, so `"uuid": "` can only be that member's start.
    public func fixOrigins(table: String, source: String, after: Int64, upTo: Int64, match: StampMatch, stamps: [OriginFix]) -> SQL {
        let values = SQL.join(stamps.map { "(\($0.value), \($0.node), \($0.time))" }, separator: ", ")
        // The uuid is cut out of the image text rather than parsed: in `to_jsonb(…)::text` a quote
        // inside a value is escaped, so `"uuid": "` can only be that member's start.
        let found = switch match {
        case .uuid: SQL(trusted: "split_part(split_part(COALESCE(new_row, old_row), '\"uuid\": \"', 2), '\"', 1)")
        case .keyColumn(let column): SQL(trusted: "pk::json ->> \(literal(column))")
        }
        return """
            WITH x AS MATERIALIZED (
              SELECT change_id, \(found) AS u FROM tributary_change
              WHERE change_id > \(after) AND change_id <= \(upTo) AND table_name = \(table) AND source_node = \(source))
            UPDATE tributary_change c SET origin_node = v.n, origin_time = CAST(v.t AS TIMESTAMP(6))
            FROM x JOIN (VALUES \(values)) AS v(u, n, t) ON x.u = v.u
            WHERE c.change_id = x.change_id
            """
    }

    public func snapshotImages(of table: TableSchema, keyColumns: [String], alias: String) -> (key: String, row: String) {
        ("json_build_object(" + keyColumns.map { literal($0) + ", \(alias).\(quote($0))" }.joined(separator: ", ") + ")::text",
         "to_jsonb(\(alias))::text")
    }
}
