import ArgumentParser
import Foundation
import TributaryEngine

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the node's registration, backlog, errors and children.")

    @OptionGroup var options: NodeOptions
    @Flag(name: .long, help: "Print one JSON object.") var json = false

    func run() async throws {
        let configuration = try NodeConfiguration.load(path: options.config)
        let node = try await SyncNode.open(configuration, logger: makeLogger("tributary"))
        let status = try await NodeStatus.read(node)
        await node.close()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(status), as: UTF8.self))
            return
        }
        print("node \(status.node) (\(status.group)) on \(status.database)")
        if configuration.parent != nil {
            print(status.registered ? "registered with \(status.parent ?? "?")" : "not registered yet: \(status.registration ?? "waiting for the parent")")
            if let load = status.initialLoad { print("initial load: \(load)") }
        }
        if status.pendingReferences > 0 { print("\(status.pendingReferences) loaded reference(s) waiting for their row") }
        if status.registrationsWaiting > 0 { print("\(status.registrationsWaiting) registration request(s) waiting for approval: tributary registrations --config \(options.config)") }
        print("captured \(status.capturedChanges) changes, routed through #\(status.routedThrough); \(status.outgoingPending) outgoing batch(es) pending")
        print("\(status.conflicts) conflict(s)" + (status.conflictsPending > 0 ? ", \(status.conflictsPending) waiting for a decision: tributary conflicts --config \(options.config) --pending" : ""))
        print("\(status.incomingErrors) incoming error(s)\(status.lastIncomingError.map { "; last: \($0)" } ?? "")")
        for failing in status.failingBatches {
            print("failing \(failing.side) batch \(failing.batch) (\(failing.channel ?? "?"), \(failing.side == "incoming" ? "from" : "to") \(failing.peer)), "
                  + "\(failing.attempts) attempt(s) since \(failing.firstSeen ?? "?"): \(failing.error)")
        }
        if let gap = status.oldestOpenGapSeconds.value {
            print("a change id has been missing from the log for \(gap) s (its transaction is still open)")
        }
        for peer in status.offlinePeers {
            print("offline peer \(peer.node): last bundle exported \(peer.lastExport ?? "never"), imported \(peer.lastImport ?? "never")\(peer.oldestUnacknowledged.map { "; unacknowledged since \($0)" } ?? "")")
        }
        for child in status.children {
            print("child \(child.node) (\(child.group)): last contact \(child.lastContact ?? "never"), \(child.outgoingPending) batch(es) pending")
        }
    }
}
