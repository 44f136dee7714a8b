import ArgumentParser
import Foundation
import TributaryCore
import TributaryEngine

struct NodesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nodes",
        abstract: "The children registered at this node; --revoke refuses one's requests from now on (its pending batches are kept).")

    @OptionGroup var options: NodeOptions
    @Option(name: .long, help: "Revoke this child: its requests and bundles are refused until it registers again with a token.")
    var revoke: String?
    @Flag(name: .long, help: "Print JSON.") var json = false

    func run() async throws {
        let node = try await SyncNode.open(try NodeConfiguration.load(path: options.config), logger: makeLogger("tributary"))
        do {
            if let id = revoke {
                guard try await node.revoke(NodeID(id)) else {
                    throw ValidationError("no child '\(id)' is registered here (see tributary nodes --config \(options.config))")
                }
                let pending = try await node.registeredNodes().first { $0.node == id }?.outgoingPending ?? 0
                if !json { print("revoked \(id): its requests are refused from now on; \(pending) pending batch(es) kept for a re-registration") }
            }
            let nodes = try await node.registeredNodes()
            await node.close()
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                print(String(decoding: try encoder.encode(nodes), as: UTF8.self))
            } else if revoke == nil {
                if nodes.isEmpty { print("no children registered here") }
                for entry in nodes {
                    let state = entry.revoked ? "revoked \(entry.revokedAt ?? "")" : "last contact \(entry.lastContact ?? "never")"
                    print("\(entry.node) (\(entry.group)): registered \(entry.registeredAt ?? "?"), \(state), \(entry.outgoingPending) pending batch(es)")
                }
            }
        } catch {
            await node.close()
            throw error
        }
    }
}
