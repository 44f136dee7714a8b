import Foundation
import TributaryCore
import TributaryEngine
import TributaryOpenMRS
import TributarySQL

/// An OpenMRS database with capture installed, and the writes the capture tests make.
struct CaptureFixture {
    let node: TestNode
    let capture: Capture
    var database: any Database { node.database }
    var kind: TestDatabase { node.kind }

    static func make(_ kind: TestDatabase, overrides: [String: TableSetting] = [:]) async throws -> CaptureFixture {
        let node = try await kind.fresh(.coreAndSampleData)
        let capture = Capture(database: node.database)
        let catalog = TableCatalog(schema: try await node.database.introspect(), profile: OpenMRSProfile(), overrides: overrides)
        try await capture.reconcile(catalog)
        return CaptureFixture(node: node, capture: capture)
    }

    func catalog(overrides: [String: TableSetting] = [:]) async throws -> TableCatalog {
        TableCatalog(schema: try await database.introspect(), profile: OpenMRSProfile(), overrides: overrides)
    }

    /// How many tables carry Tributary's capture triggers, read from the database's own catalog.
    func tablesWithTriggers() async throws -> Int64 {
        switch kind {
        case .sqlite:
            try await database.scalar("SELECT COUNT(DISTINCT tbl_name) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'tributary_%'").int64 ?? -1
        case .postgres:
            try await database.scalar("SELECT COUNT(*) FROM pg_trigger WHERE tgname = 'tributary_capture' AND NOT tgisinternal").int64 ?? -1
        case .mariadb:
            try await database.scalar("SELECT COUNT(DISTINCT EVENT_OBJECT_TABLE) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE() AND TRIGGER_NAME LIKE 'tributary%'").int64 ?? -1
        }
    }

    func changes(after: Int64 = 0) async throws -> [CapturedChange] {
        try await ChangeLog.read(database, after: after)
    }

    func lastChangeID() async throws -> Int64 {
        try await database.scalar("SELECT COALESCE(MAX(change_id), 0) FROM tributary_change").int64 ?? 0
    }

    /// SQL spelling of a boolean literal for the ordinary client.
    var falseLiteral: String { kind == .postgres ? "false" : "0" }
    var trueLiteral: String { kind == .postgres ? "true" : "1" }

    /// Inserts a person and a name through Tributary's API, in one transaction.
    @discardableResult
    func insertPerson(_ db: some SQLExecutor, uuid: String, nameUUID: String, given: String, family: String) async throws -> Int64 {
        try await db.execute("""
            INSERT INTO person (gender, birthdate, creator, date_created, voided, uuid)
            VALUES ('F', \(SQLValue.date("1990-04-01")), \(1), \(SQLValue.datetime("2026-11-22 10:00:00")), \(false), \(uuid))
            """)
        let personID = try requireValue(try await db.scalar("SELECT person_id FROM person WHERE uuid = \(uuid)").int64)
        try await db.execute("""
            INSERT INTO person_name (person_id, given_name, family_name, preferred, creator, date_created, voided, uuid)
            VALUES (\(personID), \(given), \(family), \(true), \(1), \(SQLValue.datetime("2026-11-22 10:00:00")), \(false), \(nameUUID))
            """)
        return personID
    }
}

func requireValue<T>(_ value: T?) throws -> T { guard let value else { throw TestFailure("missing value") }; return value }
