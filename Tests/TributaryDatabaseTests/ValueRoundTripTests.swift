import Testing
import TributaryEngine
import TributarySQL

/// Every kind of value goes in through binds and comes back equal, on each database.
@Suite struct ValueRoundTripTests {
    static func createTable(_ kind: TestDatabase) -> String {
        switch kind {
        case .sqlite: """
            CREATE TABLE value_probe (id INTEGER PRIMARY KEY, big BIGINT, amount DECIMAL(14,4), ratio DOUBLE,
              label VARCHAR(255), note TEXT, born DATE, seen DATETIME, precise DATETIME, flag BOOLEAN, payload BLOB)
            """
        case .postgres: """
            CREATE TABLE value_probe (id INTEGER PRIMARY KEY, big BIGINT, amount NUMERIC(14,4), ratio DOUBLE PRECISION,
              label VARCHAR(255), note TEXT, born DATE, seen TIMESTAMP(0), precise TIMESTAMP(6), flag BOOLEAN, payload BYTEA)
            """
        case .mariadb: """
            CREATE TABLE value_probe (id INT PRIMARY KEY, big BIGINT, amount DECIMAL(14,4), ratio DOUBLE,
              label VARCHAR(255), note LONGTEXT, born DATE, seen DATETIME, precise DATETIME(6), flag TINYINT(1), payload LONGBLOB)
              DEFAULT CHARSET=utf8mb4
            """
        }
    }

    static let rows: [[String: SQLValue]] = [
        ["id": .integer(1), "big": .integer(9_007_199_254_740_993), "amount": .decimal("1234567890.1234"),
         "ratio": .double(0.1 + 0.2), "label": .text("Ünïcødé 😀 مرحبا 𝄞"), "note": .text(String(repeating: "long text ", count: 5000)),
         "born": .date("2024-02-29"), "seen": .datetime("1999-12-31 23:59:59"), "precise": .datetime("2026-11-22 10:11:12.345678"),
         "flag": .bool(true), "payload": .bytes([0, 1, 2, 127, 128, 254, 255, 0])],
        ["id": .integer(2), "big": .integer(-9_223_372_036_854_775_807), "amount": .decimal("-0.0001"),
         "ratio": .double(-1.0e-300), "label": .text(""), "note": .text("it's \"quoted\" \\ and ; semicolon"),
         "born": .date("1900-01-01"), "seen": .datetime("2038-01-19 03:14:08"), "precise": .datetime("2000-01-01 00:00:00.000001"),
         "flag": .bool(false), "payload": .bytes(Array(0...255).map(UInt8.init))],
        ["id": .integer(3), "big": .null, "amount": .null, "ratio": .null, "label": .null, "note": .null,
         "born": .null, "seen": .null, "precise": .null, "flag": .null, "payload": .null],
    ]

    @Test(arguments: TestDatabase.all)
    func valuesRoundTripExactly(on kind: TestDatabase) async throws {
        let node = try await kind.fresh(nil)
        defer { Task { await node.close() } }
        let db = node.database
        try await db.execute(SQL(trusted: Self.createTable(kind)))
        let columns = ["id", "big", "amount", "ratio", "label", "note", "born", "seen", "precise", "flag", "payload"]
        for row in Self.rows {
            let values = SQL.join(columns.map { "\(row[$0]!)" }, separator: ", ")
            try await db.execute("INSERT INTO value_probe (\(idents: columns)) VALUES (\(values))")
        }
        let table = try #require(try await db.introspect()["value_probe"])
        let read = try await db.query("SELECT \(idents: columns) FROM value_probe ORDER BY id")
        #expect(read.count == Self.rows.count)
        for (expected, actual) in zip(Self.rows, read) {
            for column in columns {
                let kindOfColumn = try #require(table.column(column)).kind
                let got = kindOfColumn.normalize(actual[column])
                let want = kindOfColumn.normalize(expected[column]!)
                #expect(got == want, "\(kind) \(column): wrote \(want), read \(got)")
            }
        }
        // A value read back can be used as a bind again and finds its row.
        let label = read[0]["label"]
        #expect(try await db.scalar("SELECT id FROM value_probe WHERE label = \(label)").int64 == 1)
    }

    @Test(arguments: TestDatabase.all)
    func transactionRollsBackOnError(on kind: TestDatabase) async throws {
        let node = try await kind.fresh(nil)
        defer { Task { await node.close() } }
        let db = node.database
        try await db.execute(SQL(trusted: Self.createTable(kind)))
        await #expect(throws: (any Error).self) {
            try await db.transaction { tx in
                try await tx.execute("INSERT INTO value_probe (id) VALUES (\(10))")
                try await tx.execute("INSERT INTO value_probe (id) VALUES (\(10))")  // duplicate key
            }
        }
        #expect(try await db.scalar("SELECT COUNT(*) FROM value_probe").int64 == 0)
        try await db.transaction { tx in try await tx.execute("INSERT INTO value_probe (id) VALUES (\(11))") }
        #expect(try await db.scalar("SELECT COUNT(*) FROM value_probe").int64 == 1)
    }
}
