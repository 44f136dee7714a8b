import ArgumentParser
import Foundation
import TributaryCore
import TributaryEngine
import TributaryOffline

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a bundle file for the parent (or, with --for, a child): what is pending for it and acknowledgments of what came from it.")

    @OptionGroup var options: NodeOptions
    @Option(name: .long, help: "The bundle file to write, or a folder (the file is then named sender-to-recipient-time.tributary).")
    var out: String
    @Option(name: .customLong("for"), help: "A child of this node to write for (default: the parent).")
    var child: String?

    func run() async throws {
        let node = try await SyncNode.open(try NodeConfiguration.load(path: options.config), logger: makeLogger("tributary"))
        let exchange = OfflineExchange(node: node, progress: TerminalProgress.line)
        do {
            let report = try await exchange.export(for: child.map { NodeID($0) }, to: out)
            TerminalProgress.clear()
            await node.close()
            print(report)
        } catch {
            TerminalProgress.clear()
            await node.close()
            throw ValidationError("export failed: \(error)")
        }
    }
}

struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Apply a bundle file addressed to this node; with --answer, write the reply bundle for its sender.")

    @OptionGroup var options: NodeOptions
    @Argument(help: "The bundle file.") var file: String
    @Option(name: .long, help: "Write the answer (acknowledgments and what is pending for the sender) to this file or folder.")
    var answer: String?

    func run() async throws {
        let node = try await SyncNode.open(try NodeConfiguration.load(path: options.config), logger: makeLogger("tributary"))
        let exchange = OfflineExchange(node: node, progress: TerminalProgress.line)
        do {
            let report = try await exchange.importBundle(file, answer: answer)
            TerminalProgress.clear()
            await node.close()
            print(report)
            if report.failed > 0 { throw ExitCode(2) }
        } catch let error as ExitCode {
            throw error
        } catch {
            TerminalProgress.clear()
            await node.close()
            throw ValidationError("import rejected: \(error)")
        }
    }
}

/// One line rewritten in place on a terminal; nothing when output goes to a file.
enum TerminalProgress {
    static let enabled = isatty(STDERR_FILENO) == 1
    @Sendable static func line(_ text: String) {
        guard enabled else { return }
        FileHandle.standardError.write(Data(("\r\u{1B}[K  " + text).utf8))
    }
    static func clear() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}
