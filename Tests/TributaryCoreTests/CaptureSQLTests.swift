import Testing
import TributaryEngine
import TributarySQL

/// The text of generated capture triggers, checked without a database.
@Suite struct CaptureSQLTests {
    static let table = TableSchema(
        name: "person_name",
        columns: [
            ColumnSchema(name: "person_name_id", declaredType: "int", kind: .integer, nullable: false, defaultValue: nil, autoIncrement: true),
            ColumnSchema(name: "family_name", declaredType: "varchar(50)", kind: .text, nullable: true, defaultValue: nil, autoIncrement: false),
            ColumnSchema(name: "photo", declaredType: "longblob", kind: .binary, nullable: true, defaultValue: nil, autoIncrement: false),
        ],
        primaryKey: ["person_name_id"], uniqueConstraints: [], foreignKeys: [])

    @Test func mysqlComparesTextByBytesSoCaseOnlyEditsAreCaptured() {
        let statements = MySQLCapture().installTriggers(for: Self.table, keyColumns: ["person_name_id"])
        let update = statements.first { $0.contains("AFTER UPDATE") }!
        #expect(update.contains("BINARY NEW.`family_name` <=> BINARY OLD.`family_name`"))
        #expect(update.contains("NEW.`person_name_id` <=> OLD.`person_name_id`"))
        #expect(update.contains("HEX(NEW.`photo`)"))
        #expect(statements.filter { $0.hasPrefix("DROP TRIGGER IF EXISTS") }.count == 3)
    }

    @Test func sqliteSkipsNoOpUpdatesAndReadsTheLoaderMark() {
        let statements = SQLiteCapture().installTriggers(for: Self.table, keyColumns: ["person_name_id"])
        let update = statements.first { $0.contains("AFTER UPDATE") }!
        #expect(update.contains("WHEN NEW.\"person_name_id\" IS NOT OLD.\"person_name_id\" OR NEW.\"family_name\" IS NOT OLD.\"family_name\""))
        #expect(update.contains("(SELECT source_node FROM tributary_session WHERE id = 1)"))
        #expect(update.contains("hex(NEW.\"photo\")"))
    }

    @Test func sqliteBuildsWideImagesInChunks() {
        let wide = TableSchema(name: "wide", columns: (0..<130).map {
            ColumnSchema(name: "c\($0)", declaredType: "int", kind: .integer, nullable: true, defaultValue: nil, autoIncrement: false)
        }, primaryKey: ["c0"], uniqueConstraints: [], foreignKeys: [])
        let insert = SQLiteCapture().installTriggers(for: wide, keyColumns: ["c0"]).first { $0.contains("AFTER INSERT") }!
        #expect(insert.components(separatedBy: "json_patch(").count - 1 == 2)
    }

    @Test func postgresMarksAreTransactionLocal() {
        let mark = PostgresCapture().markLoader(source: "district-1", originNode: "clinic-2", originTime: "2026-01-01 00:00:00")
        let (text, binds) = mark[0].render(.postgres)
        #expect(text.contains("set_config('tributary.source_node', $1, true)"))
        #expect(binds.first == .text("district-1"))
    }
}
