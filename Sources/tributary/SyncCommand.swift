import ArgumentParser
import TributaryEngine
import TributaryHTTP

struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "One round with the parent: capture and route, push, pull, apply, acknowledge; then exit.")

    @OptionGroup var options: NodeOptions

    func run() async throws {
        let configuration = try NodeConfiguration.load(path: options.config)
        guard let url = configuration.parent?.url else {
            throw ValidationError("\(options.config): no parent.url to sync with")
        }
        let logger = makeLogger("tributary")
        let node = try await SyncNode.open(configuration, logger: logger)
        let client = SyncClient(node: node, parentURL: url, logger: logger)
        do {
            let report = try await client.round()
            await client.shutdown()
            await node.close()
            print("sync: \(report)")
            for failure in report.failures { print("  \(failure)") }
            if report.pushFailed + report.pullFailed > 0 { throw ExitCode(2) }
        } catch let error as ExitCode {
            throw error
        } catch {
            await client.shutdown()
            await node.close()
            throw error
        }
    }
}
