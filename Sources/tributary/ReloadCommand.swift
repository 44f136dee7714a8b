import ArgumentParser
import TributaryCore
import TributaryEngine

struct ReloadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reload",
        abstract: "Send whole tables again to a child (or to the parent): every row, matched by sync key at the other side.")

    @OptionGroup var options: NodeOptions
    @Option(name: .long, help: "The child (or parent) to send to.") var node: String
    @Option(name: .long, help: "Only this table (repeatable); every synced table flowing that way by default.") var table: [String] = []

    func run() async throws {
        let syncNode = try await SyncNode.open(try NodeConfiguration.load(path: options.config), logger: makeLogger("tributary"))
        do {
            let rows = try await syncNode.reload(NodeID(node), tables: table.isEmpty ? nil : Set(table))
            print("queued \(rows) row(s) for \(node); they go with the next sync rounds")
            await syncNode.close()
        } catch {
            await syncNode.close()
            throw ValidationError("\(error)")
        }
    }
}
