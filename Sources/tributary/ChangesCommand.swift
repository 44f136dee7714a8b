import ArgumentParser
import TributaryEngine

struct ChangesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "changes",
        abstract: "List captured changes in capture order.")

    @OptionGroup var options: NodeOptions
    @Option(help: "Show changes after this change id.") var after: Int64 = 0
    @Option(help: "At most this many changes.") var limit = 50

    func run() async throws {
        let configuration = try NodeConfiguration.load(path: options.config)
        let database = try await Databases.connect(configuration.database, logger: makeLogger("tributary.db"))
        let changes = try await ChangeLog.read(database, after: after, limit: limit)
        await database.close()
        for change in changes { print(ChangeReport.line(change)) }
        if changes.isEmpty { print("no changes captured after \(after)") }
    }
}
