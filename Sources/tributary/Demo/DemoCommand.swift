import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import TributaryCore
import TributaryEngine
import TributaryHTTP

/// The main job on the embedded default: a three-tier tree of OpenMRS databases on SQLite,
/// four nodes in this process on loopback ports, registered, loaded, then edited by plain
/// SQL at a clinic and at the central server, and shown converging.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run a central server, a district and two clinics on SQLite: register, load, edit, and watch the changes arrive everywhere.")

    @Option(help: "Folder for the demo's databases and configuration files (emptied of earlier demo databases).")
    var dir = "tributary-demo"
    @Flag(help: "Exit once every node holds the same data (for tests), instead of running until Ctrl-C.")
    var once = false

    func run() async throws {
        var tree = DemoTree(directory: URL(fileURLWithPath: dir, isDirectory: true).standardizedFileURL)
        print("Creating four OpenMRS databases on SQLite in \(tree.directory.path):")
        try await tree.create { print($0) }
        var logger = Logger(label: "tributary")
        logger.logLevel = .warning
        var nodes: [String: SyncNode] = [:]
        for member in DemoTree.members {
            nodes[member.id] = try await SyncNode.open(try NodeConfiguration.load(path: tree.configPath(member.id)), logger: logger)
        }
        let apps: [any Service] = DemoTree.members.filter(\.listens).map { member in
            SyncServer.application(for: nodes[member.id]!, host: "127.0.0.1", port: tree.ports[member.id]!, logger: logger)
        }
        let servers = ServiceGroup(configuration: .init(services: apps.map { .init(service: $0) }, logger: logger))
        let serving = Task { try await servers.run() }
        try await Task.sleep(for: .milliseconds(300))
        let children = DemoTree.members.filter { $0.parent != nil }
        let clients = children.map { member in
            (member.id, SyncClient(node: nodes[member.id]!, parentURL: tree.url(member.parent!)!, logger: logger))
        }
        let demo = DemoRun(nodes: nodes, clients: clients)
        var failure: (any Error)?
        do {
            print("\nRegistering the district with the central server and the clinics with the district; initial loads follow:")
            let rounds = try await demo.converge()
            for member in children {
                let node = nodes[member.id]!
                print("  \(member.id): registered with \(member.parent!), initial load \(try await node.initialLoadState()?.rawValue ?? "?"), \(try await DemoRun.count(node, "concept")) concepts, \(try await DemoRun.count(node, "patient")) patients")
            }
            print("  (\(rounds) sync round(s))")
            try await demo.editAndShow()
            try await demo.verify()
            printWhereToLook(tree)
            if !once { try await demo.runUntilInterrupted() }
        } catch {
            failure = error
        }
        for (_, client) in clients { await client.shutdown() }
        await servers.triggerGracefulShutdown()
        _ = await serving.result
        for node in nodes.values { await node.close() }
        if let failure { throw failure }
    }

    func printWhereToLook(_ tree: DemoTree) {
        print("\nWhere to look:")
        for member in DemoTree.members {
            let served = tree.url(member.id).map { ", serving its children at \($0) (\($0)/health)" } ?? ""
            print("  \(member.id): database \(tree.databasePath(member.id)), config \(tree.configPath(member.id))\(served)")
        }
        print("  e.g. tributary status --config \(tree.configPath("district"))   ·   sqlite3 \(tree.databasePath("clinic-2")) 'SELECT * FROM person_name ORDER BY person_name_id DESC LIMIT 3'")
    }
}
