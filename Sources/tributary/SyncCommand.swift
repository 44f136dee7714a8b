import ArgumentParser
import Foundation
import TributaryEngine
import TributaryHTTP

struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "One round with the parent: capture and route, push, pull, apply, acknowledge; then exit.")

    @OptionGroup var options: NodeOptions

    @Sendable static func showProgress(_ report: SyncClient.RoundReport) {
        let line = "\r\u{1B}[K  " + report.description
        FileHandle.standardError.write(Data(line.utf8))
    }

    func run() async throws {
        let configuration = try NodeConfiguration.load(path: options.config)
        guard let url = configuration.parent?.url else {
            if configuration.parent?.offline == true {
                throw ValidationError("\(options.config): the parent is reached by files (parent.offline): use tributary export and tributary import")
            }
            throw ValidationError("\(options.config): no parent.url to sync with")
        }
        let logger = makeLogger("tributary")
        let node = try await SyncNode.open(configuration, logger: logger)
        // On a terminal, a progress line (an initial load is many batches).
        let onTerminal = isatty(STDERR_FILENO) == 1
        let showProgress: (@Sendable (SyncClient.RoundReport) -> Void)? = onTerminal ? Self.showProgress : nil
        let client = SyncClient(node: node, parentURL: url, logger: logger, progress: showProgress)
        do {
            let report = try await client.round()
            if onTerminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
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
