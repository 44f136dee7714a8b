import TributarySQL

/// How one dialect spells change capture. Produces SQL text only (no I/O), so every
/// dialect's triggers are covered by plain tests of the text they generate.
///
/// Identifiers come from the introspected schema, never from the wire; trigger bodies
/// cannot take binds, so table names appear in them as quoted literals.
public protocol CaptureDialect: Sendable {
    var syntax: SQLSyntax { get }
    /// Statements that create (or replace) the capture triggers of one table.
    func installTriggers(for table: TableSchema, keyColumns: [String]) -> [String]
    /// Statements that remove them; harmless when they are absent.
    func removeTriggers(for table: String) -> [String]
    /// Statements that mark the current transaction as the loader applying changes that
    /// came from `source`, so that triggers record it with the change's origin stamp.
    func markLoader(source: String, originNode: String, originTime: String) -> [SQL]
    /// Statements that end the mark (MySQL user variables outlive the transaction).
    func clearLoader() -> [SQL]
    /// One statement giving the changes the loader captured in `table` since `after` (from
    /// `source`) the origin stamps of their rows, matched by the row image's uuid.
    func fixOrigins(table: String, source: String, after: Int64, upTo: Int64, match: StampMatch, stamps: [OriginFix]) -> SQL
    /// Expressions for the key and the row image of `alias`, a row of `table` in a SELECT:
    /// the same images the triggers write, so a snapshot travels like any change.
    func snapshotImages(of table: TableSchema, keyColumns: [String], alias: String) -> (key: String, row: String)
}

extension CaptureDialect {
    func quote(_ name: String) -> String { syntax.quote(name) }
    func literal(_ text: String) -> String { syntax.literal(text) }

    /// The `pk` the triggers record for the row `t` of the entry's table.
    func rowKey(_ entry: TableCatalog.Entry) -> SQL {
        SQL(trusted: snapshotImages(of: entry.table, keyColumns: Capture.recordedKey(entry), alias: "t").key)
    }

    /// `pk = …` for the captured changes of the row at `locator`.
    func rowKeyMatch(_ entry: TableCatalog.Entry, _ locator: [(String, SQLValue)]) -> SQL {
        "pk = (SELECT \(rowKey(entry)) FROM \(ident: entry.name) t WHERE \(KeyResolver.whereClause(locator)))"
    }

    /// A timestamp in a SELECT list: PostgreSQL types an untyped parameter there as text,
    /// which a timestamp column refuses.
    func timestamp(_ text: String) -> SQL {
        let value = SQLValue.datetime(text)
        return syntax == .postgres ? "CAST(\(value) AS TIMESTAMP(6))" : "\(value)"
    }
}

public enum CaptureDialects {
    public static func dialect(for syntax: SQLSyntax) -> any CaptureDialect {
        switch syntax {
        case .sqlite: SQLiteCapture()
        case .postgres: PostgresCapture()
        case .mysql: MySQLCapture()
        }
    }
}

/// The origin stamp a captured change of the row with `uuid` is to carry.
public struct OriginFix: Sendable, Hashable {
    /// The row's uuid, or its key column's value as text (see `StampMatch`).
    public var value: String, node: String, time: String
}

/// How a stamp fix finds a row's captured change: by the uuid in its row image, or by a
/// column of the captured key (`patient_id` of a patient, whose row has no uuid).
public enum StampMatch: Sendable, Hashable {
    case uuid
    case keyColumn(String)
}

/// The columns of `tributary_change` every trigger fills, in one place.
let changeColumns = "table_name, operation, pk, new_row, old_row, captured_at, transaction_id, source_node, origin_node, origin_time"

/// Names of Tributary's triggers and functions: `tributary_<table>_<suffix>` where that fits
/// every database's limit (PostgreSQL 63 bytes, MySQL/MariaDB 64 characters); else the table's
/// name cut short and a hash of the whole of it, so two long names never share one (PostgreSQL
/// would cut both silently to the same name, MariaDB refuses: 1059). The table's own name is in
/// `tributary_trigger`, and in every captured change.
public func triggerName(_ table: String, _ suffix: String) -> String {
    let plain = "tributary_\(table)_\(suffix)"
    if plain.utf8.count <= identifierLimit { return plain }
    let hash = String(NameHash.fnv1a(table), radix: 16).leftPadded(to: 8)
    let room = identifierLimit - "tributary_".utf8.count - hash.utf8.count - suffix.utf8.count - 2
    var prefix = ""
    for character in table {
        if prefix.utf8.count + character.utf8.count > room { break }
        prefix.append(character)
    }
    return "tributary_\(prefix)_\(hash)_\(suffix)"
}

/// The longest name, in bytes, that every supported database keeps as written.
public let identifierLimit = 63

/// A stable 32-bit hash of a name (FNV-1a): the same in every process and release, which
/// Swift's own `hashValue` is not.
enum NameHash {
    static func fnv1a(_ text: String) -> UInt32 {
        var hash: UInt32 = 2_166_136_261
        for byte in text.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        return hash
    }
}

extension String {
    func leftPadded(to length: Int) -> String { String(repeating: "0", count: max(0, length - count)) + self }
}
