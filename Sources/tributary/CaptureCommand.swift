import ArgumentParser
import TributaryEngine

struct CaptureCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capture",
        abstract: "Create Tributary's tables and install, update or remove capture triggers to match the schema and settings.")

    @OptionGroup var options: NodeOptions
    @Flag(name: .long, help: "Remove every capture trigger instead.")
    var remove = false

    func run() async throws {
        let configuration = try NodeConfiguration.load(path: options.config)
        let database = try await Databases.connect(configuration.database, logger: makeLogger("tributary.db"))
        let remove = remove
        let report: Capture.Report
        do {
            report = try await database.whileOpening(logger: makeLogger("tributary")) {
                var catalog = try await Databases.catalog(for: configuration, database: database)
                if remove { catalog.entries = [] }
                return try await Capture(database: database, logger: makeLogger("tributary.capture")).reconcile(catalog)
            }
        } catch {
            await database.close()
            throw error
        }
        await database.close()
        print("capture: \(report.installed.count) installed, \(report.replaced.count) replaced, \(report.removed.count) removed, \(report.unchanged) unchanged")
        if !report.replaced.isEmpty { print("replaced: \(report.replaced.joined(separator: ", "))") }
        if !report.removed.isEmpty { print("removed: \(report.removed.joined(separator: ", "))") }
    }
}
