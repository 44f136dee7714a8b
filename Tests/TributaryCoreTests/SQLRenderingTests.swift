import Testing
import TributarySQL

@Suite struct SQLRenderingTests {
    @Test func valuesBecomeBindsInEveryDialect() {
        let table = "person"
        let hostile = "x'; DROP TABLE person; --"
        let sql: SQL = "SELECT * FROM \(ident: table) WHERE uuid = \(hostile) AND person_id > \(42)"
        let pg = sql.render(.postgres)
        #expect(pg.text == "SELECT * FROM \"person\" WHERE uuid = $1 AND person_id > $2")
        #expect(pg.binds == [.text(hostile), .integer(42)])
        let my = sql.render(.mysql)
        #expect(my.text == "SELECT * FROM `person` WHERE uuid = ? AND person_id > ?")
        #expect(!my.text.contains("DROP"))
    }

    @Test func identifiersAreQuotedAndEscaped() {
        #expect(SQLSyntax.mysql.quote("we`ird") == "`we``ird`")
        #expect(SQLSyntax.postgres.quote("we\"ird") == "\"we\"\"ird\"")
        #expect(SQLSyntax.mysql.literal("a'b\\c") == "'a''b\\\\c'")
        #expect(SQLSyntax.sqlite.literal("a'b\\c") == "'a''b\\c'")
    }

    @Test func joinedFragmentsNumberPlaceholdersInOrder() {
        let values: [SQL] = ["\(1)", "\("two")", "\(SQLValue.null)"]
        let sql: SQL = "INSERT INTO t VALUES (\(SQL.join(values, separator: ", ")))"
        #expect(sql.render(.postgres).text == "INSERT INTO t VALUES ($1, $2, $3)")
    }

    @Test func databaseURLsParse() throws {
        #expect(try DatabaseURL("sqlite:/tmp/a.db") == .sqlite(path: "/tmp/a.db"))
        guard case .postgres(let e) = try DatabaseURL("postgres://u:p%40ss@db.example:6543/openmrs") else {
            Issue.record("not postgres"); return
        }
        #expect(e.user == "u" && e.password == "p@ss" && e.port == 6543 && e.database == "openmrs")
        #expect(throws: DatabaseError.self) { try DatabaseURL("sqlite:relative.db") }
        #expect(throws: DatabaseError.self) { try DatabaseURL("oracle://x/y") }
        #expect(try DatabaseURL("mysql://root:secret@127.0.0.1:3306/openmrs").description == "mysql://root@127.0.0.1:3306/openmrs")
    }
}
