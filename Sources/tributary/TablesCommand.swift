import ArgumentParser
import Foundation
import TributaryEngine

struct TablesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tables",
        abstract: "Show every table with its sync key, foreign keys and settings; at the root, change a table's settings.")

    @OptionGroup var options: NodeOptions
    @Flag(name: .long, help: "Print one JSON array with an object per table.")
    var json = false
    @Option(name: .long, parsing: .upToNextOption,
            help: "At the root: TABLE key=value… (enabled, channel, direction, initial_load, policy); reaches every node below.")
    var set: [String] = []

    func validate() throws {
        if !set.isEmpty {
            guard set.count >= 2 else { throw ValidationError("--set needs a table and at least one key=value, e.g. --set location enabled=false") }
            for pair in set.dropFirst() where !pair.contains("=") { throw ValidationError("'\(pair)' is not key=value") }
        }
    }

    func run() async throws {
        let configuration = try NodeConfiguration.load(path: options.config)
        if !set.isEmpty {
            let node = try await SyncNode.open(configuration, logger: makeLogger("tributary"))
            do {
                var assignments: [String: String] = [:]
                for pair in set.dropFirst() {
                    let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                    assignments[parts[0]] = parts.count > 1 ? parts[1] : ""
                }
                let setting = try await node.changeSetting(set[0], assignments)
                await node.close()
                print("\(set[0]): enabled=\(setting.enabled) channel=\(setting.channel) direction=\(setting.direction.rawValue) initial_load=\(setting.initialLoad) policy=\(setting.policy.rawValue); children take it at their next round")
            } catch {
                await node.close()
                throw ValidationError("\(error)")
            }
            return
        }
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
