import ArgumentParser
import Foundation
import TributaryEngine

struct PurgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "purge",
        abstract: "Remove acknowledged changes, batches and settled records older than --older-than (default sync.retention, 7d). A running node does it every hour.")

    @OptionGroup var options: NodeOptions
    @Option(name: .customLong("older-than"), help: "Age of what goes: 7d, 12h, 30m.") var olderThan: String?
    @Flag(name: .long, help: "Print one JSON object.") var json = false

    func run() async throws {
        var age: Double?
        if let olderThan {
            guard let seconds = DurationText.seconds(olderThan) else {
                throw ValidationError("--older-than: '\(olderThan)' is not a duration (use 7d, 12h, 30m)")
            }
            age = seconds
        }
        let node = try await SyncNode.open(try NodeConfiguration.load(path: options.config), logger: makeLogger("tributary"))
        let report: Purge.Report
        do {
            report = try await node.purge(olderThan: age)
            await node.close()
        } catch {
            await node.close()
            throw error
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print("purged \(report.description)")
        }
    }
}
