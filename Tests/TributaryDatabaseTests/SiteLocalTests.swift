import Foundation
import Testing
import TributaryEngine
import TributarySQL

/// Site-local state is never copied; module tables the profile does not know sync by the
/// general identity rules; `tables --json` says which family each table is in and why.
@Suite struct SiteLocalTests {
    /// Module tables shaped as in the modules' own liquibase files (idgen, reporting,
    /// metadatasharing, htmlformentry), and OpenMRS's migration log.
    static func moduleTables(_ kind: TestDatabase) -> String {
        let uuid = "CHAR(38)"
        let serial = kind == .postgres ? "SERIAL PRIMARY KEY" : kind == .mariadb ? "INT AUTO_INCREMENT PRIMARY KEY" : "INTEGER PRIMARY KEY"
        let datetime = kind == .postgres ? "TIMESTAMP" : "DATETIME"
        return """
            CREATE TABLE liquibasechangelog (ID VARCHAR(255) NOT NULL, AUTHOR VARCHAR(255) NOT NULL, FILENAME VARCHAR(255) NOT NULL,
              DATEEXECUTED \(datetime) NOT NULL, ORDEREXECUTED INT NOT NULL, EXECTYPE VARCHAR(10) NOT NULL, MD5SUM VARCHAR(35));
            CREATE TABLE liquibasechangeloglock (ID INT NOT NULL PRIMARY KEY, LOCKED \(kind == .postgres ? "BOOLEAN" : "TINYINT(1)") NOT NULL,
              LOCKGRANTED \(datetime), LOCKEDBY VARCHAR(255));
            CREATE TABLE idgen_identifier_source (id \(serial), uuid \(uuid) NOT NULL UNIQUE, name VARCHAR(255) NOT NULL,
              identifier_type INT NOT NULL REFERENCES patient_identifier_type (patient_identifier_type_id), creator INT NOT NULL,
              date_created \(datetime) NOT NULL, retired \(kind == .postgres ? "BOOLEAN" : "TINYINT(1)") NOT NULL DEFAULT \(kind == .postgres ? "false" : "0"));
            CREATE TABLE idgen_seq_id_gen (id INT NOT NULL PRIMARY KEY REFERENCES idgen_identifier_source (id), next_sequence_value INT NOT NULL,
              base_character_set VARCHAR(255) NOT NULL, first_identifier_base VARCHAR(50) NOT NULL);
            CREATE TABLE reporting_report_request (id \(serial), uuid \(uuid) NOT NULL UNIQUE, status VARCHAR(50) NOT NULL,
              priority VARCHAR(50) NOT NULL, requested_by INT NOT NULL, request_datetime \(datetime) NOT NULL);
            CREATE TABLE metadatasharing_imported_item (imported_item_id \(serial), uuid \(uuid) NOT NULL UNIQUE,
              classname VARCHAR(256) NOT NULL, existing_uuid \(uuid), date_imported \(datetime));
            CREATE TABLE htmlformentry_html_form (id \(serial), uuid \(uuid) NOT NULL UNIQUE,
              form_id INT REFERENCES form (form_id), name VARCHAR(100), xml_data TEXT NOT NULL, creator INT NOT NULL,
              date_created \(datetime) NOT NULL);
            """
    }

    @Test(arguments: TestDatabase.all)
    func siteLocalTablesAreLeftAloneAndModuleTablesSync(on kind: TestDatabase) async throws {
        let node = try await kind.fresh(.coreData)
        defer { Task { await node.close() } }
        try node.client(Self.moduleTables(kind))
        let config = FileManager.default.temporaryDirectory.appendingPathComponent("tributary-sitelocal-\(UUID().uuidString).yaml")
        try "node: { id: clinic-01, group: clinic }\ndatabase: \(node.url)\n".write(to: config, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: config) }

        let tables = try CommandLineTests.run(["tables", "--config", config.path, "--json"])
        #expect(tables.status == 0, "\(tables.errors)")
        let objects = try #require(try JSONSerialization.jsonObject(with: Data(tables.output.utf8)) as? [[String: Any]])
        let byName = Dictionary(uniqueKeysWithValues: objects.map { ($0["table"] as! String, $0) })
        let siteLocal = ["global_property", "user_property", "scheduler_task_config", "hl7_in_queue", "hl7_in_archive", "hl7_in_error",
                         "notification_alert", "shedlock", "liquibasechangelog", "liquibasechangeloglock", "idgen_identifier_source",
                         "idgen_seq_id_gen", "reporting_report_request", "metadatasharing_imported_item"]
        for table in siteLocal {
            #expect(byName[table]?["syncs"] as? Bool == false, "\(table)")
            #expect(byName[table]?["family"] as? String == "site-local", "\(table)")
            #expect((byName[table]?["reason"] as? String)?.hasPrefix("site-local") == true, "\(table): \(byName[table]?["reason"] ?? "")")
        }
        #expect((byName["idgen_seq_id_gen"]?["family_reason"] as? String)?.contains("same identifiers") == true)
        #expect(byName["htmlformentry_html_form"]?["syncs"] as? Bool == true)
        #expect(byName["htmlformentry_html_form"]?["family"] as? String == "module")
        #expect(byName["htmlformentry_html_form"]?["key"] as? String == "uuid")
        #expect(byName["concept"]?["family"] as? String == "metadata")
        #expect(byName["obs"]?["family"] as? String == "clinical")

        // No capture on site-local state; a module table's rows are captured.
        let capture = try CommandLineTests.run(["capture", "--config", config.path])
        #expect(capture.status == 0, "\(capture.errors)")
        try node.client("""
            UPDATE global_property SET property_value = 'x' WHERE property = (SELECT MIN(property) FROM (SELECT property FROM global_property) g);
            INSERT INTO htmlformentry_html_form (uuid, name, xml_data, creator, date_created)
              VALUES ('\(UUID().uuidString.lowercased())', 'Vitals', '<htmlform/>', 1, '2026-12-03 10:00:00');
            """)
        let changes = try await ChangeLog.read(node.database)
        #expect(changes.map(\.table) == ["htmlformentry_html_form"])
    }
}
