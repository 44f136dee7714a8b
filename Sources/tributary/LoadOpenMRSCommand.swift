import ArgumentParser
import TributaryEngine

struct LoadOpenMRSCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load-openmrs",
        abstract: "Load the bundled OpenMRS schema (and core and sample data) into an empty database, for trying Tributary out.")

    @Option(help: "The database URL (sqlite:/abs/path.db, postgres://…, mysql://…).") var database: String
    @Option(help: "What to load: schema, core, or core,sample.") var data = "core,sample"

    func run() async throws {
        let contents: OpenMRSDatabaseLoader.Contents
        switch data {
        case "schema", "none": contents = .schemaOnly
        case "core": contents = .coreData
        case "core,sample", "sample,core", "all": contents = .coreAndSampleData
        default: throw ValidationError("--data must be schema, core or core,sample")
        }
        let db = try await Databases.connect(database, logger: makeLogger("tributary.db"))
        if try await db.introspect().tables.contains(where: { $0.name == "person" }) {
            await db.close()
            throw ValidationError("\(database) already has OpenMRS tables; load into an empty database")
        }
        try await OpenMRSDatabaseLoader.load(contents, into: db)
        let tables = try await db.introspect().applicationTables.tables.count
        await db.close()
        print("loaded the OpenMRS kit (\(data)) into \(database): \(tables) tables")
    }
}
