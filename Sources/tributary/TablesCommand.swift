import ArgumentParser
import Foundation
import TributaryEngine

struct TablesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tables",
        abstract: "Show every table with its sync key, foreign keys and whether it syncs.")

    @OptionGroup var options: NodeOptions
    @Flag(name: .long, help: "Print one JSON array with an object per table.")
    var json = false

    func run() async throws {
        let configuration = try NodeConfiguration.load(path: options.config)
        let database = try await Databases.connect(configuration.database, logger: makeLogger("tributary.db"))
        let catalog = try await Databases.catalog(for: configuration, database: database)
        await database.close()
        if json {
            print(try TableReport.json(catalog))
        } else {
            print(TableReport.text(catalog))
        }
    }
}
