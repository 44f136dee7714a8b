import ArgumentParser
import Foundation
import TributaryEngine
import TributarySQL

/// The main job on the embedded default: an OpenMRS database in SQLite with capture
/// installed, a few writes made by plain SQL, and what Tributary captured from them.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Create an OpenMRS database in SQLite, install change capture, write to it by plain SQL and show what was captured.")

    @Option(help: "Directory for the demo's database and configuration.")
    var dir = "tributary-demo"

    func run() async throws {
        let directory = URL(fileURLWithPath: dir, isDirectory: true).standardizedFileURL
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let databasePath = directory.appendingPathComponent("openmrs.db").path
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: databasePath + suffix) }
        let configPath = directory.appendingPathComponent("tributary.yaml").path
        try """
        node:
          id: demo-clinic
          group: clinic
        database: sqlite:\(databasePath)
        """.write(toFile: configPath, atomically: true, encoding: .utf8)

        let configuration = try NodeConfiguration.load(path: configPath)
        let database = try await Databases.connect(configuration.database)
        print("Loading the OpenMRS schema, core data and sample data into \(databasePath) …")
        try await OpenMRSDatabaseLoader.load(.coreAndSampleData, into: database)
        let catalog = try await Databases.catalog(for: configuration, database: database)
        let report = try await Capture(database: database, logger: makeLogger("tributary.capture")).reconcile(catalog)
        print("\(catalog.entries.count) tables; \(catalog.synced.count) sync; capture triggers installed on \(report.installed.count).")
        for entry in catalog.entries where !entry.syncs { print("  not synchronized: \(entry.name): \(entry.excludedBecause ?? "")") }

        print("\nWriting by plain SQL, as a person at the database console would …")
        let uuid = UUID().uuidString.lowercased()
        try await database.executeScript("""
            INSERT INTO person (gender, birthdate, creator, date_created, voided, uuid) VALUES ('F', '1990-04-01', 1, '2026-11-22 10:00:00', 0, '\(uuid)');
            INSERT INTO person_name (person_id, given_name, family_name, preferred, creator, date_created, voided, uuid)
              VALUES ((SELECT person_id FROM person WHERE uuid = '\(uuid)'), 'Amina', 'Okello', 1, 1, '2026-11-22 10:00:00', 0, '\(UUID().uuidString.lowercased())');
            UPDATE person_name SET family_name = 'Okello-Banda' WHERE given_name = 'Amina';
            UPDATE person SET gender = 'F' WHERE uuid = '\(uuid)';
            DELETE FROM person_name WHERE given_name = 'Amina';
            """)
        let changes = try await ChangeLog.read(database)
        print("Captured \(changes.count) changes (the UPDATE that changed nothing is not among them):")
        for change in changes { print("  " + ChangeReport.line(change)) }
        await database.close()
        print("\nConfiguration: \(configPath)\nTry: tributary tables --config \(configPath)")
    }
}
