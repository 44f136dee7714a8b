import ArgumentParser
import Logging
import ServiceLifecycle
import TributaryEngine
import TributaryHTTP

struct StartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "start",
        abstract: "Run the node until SIGINT or SIGTERM: serve children on `listen`, sync with the parent every `sync.interval`.")

    @OptionGroup var options: NodeOptions

    func run() async throws {
        let configuration = try NodeConfiguration.load(path: options.config)
        let logger = { var l = Logger(label: "tributary"); l.logLevel = .info; return l }()
        guard configuration.listen.flatMap(ListenAddress.init) != nil || configuration.parent?.url != nil else {
            throw ValidationError("\(options.config): nothing to run: set listen (to serve children) or parent.url (to sync with a parent)")
        }
        let node = try await SyncNode.open(configuration, logger: logger)
        // One running node per database: a second `start` stands by until the first stops or dies.
        do {
            try await node.database.withLock(.active, waiting: { waited in
                if waited == .zero { logger.notice("another tributary start runs this node; standing by to take over when it stops") }
            }) {
                try await Self.serve(node, configuration: configuration, logger: logger)
            }
        } catch {
            logger.error("stopped: \(error)")
        }
        await node.close()
    }

    /// The node's services (children's routes, rounds with the parent) until a signal stops them.
    static func serve(_ node: SyncNode, configuration: NodeConfiguration, logger: Logger) async throws {
        var services: [any Service] = []
        if let listen = configuration.listen, let address = ListenAddress(listen) {
            services.append(SyncServer.application(for: node, host: address.host, port: address.port, logger: logger) { port in
                logger.info("serving children", metadata: ["address": "\(address.host):\(port)"])
            })
        }
        var client: SyncClient?
        if let url = configuration.parent?.url {
            let syncClient = SyncClient(node: node, parentURL: url, logger: logger)
            client = syncClient
            services.append(ChildSyncLoop(client: syncClient, interval: configuration.syncInterval, logger: logger))
        }
        services.append(PurgeLoop(node: node, every: PurgeLoop.interval(retention: configuration.retention), logger: logger))
        let group = ServiceGroup(configuration: .init(services: services.map { .init(service: $0) },
                                                      gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch {
            logger.error("stopped: \(error)")
        }
        await client?.shutdown()
    }
}

/// A child's rounds with its parent, every `interval`, backing off while the parent is
/// unreachable. A shutdown lets the round in flight finish: each batch is one transaction.
struct ChildSyncLoop: Service {
    let client: SyncClient
    let interval: Double
    let logger: Logger

    func run() async throws {
        var failures = 0
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let report = try await client.round()
                failures = 0
                if report.pushed + report.pulled > 0 { logger.info("sync round: \(report)") }
                for failure in report.failures { logger.warning("\(failure)") }
            } catch {
                failures += 1
                logger.warning("sync round failed (attempt \(failures)): \(error)")
            }
            let wait = failures == 0 ? interval : min(interval * Double(1 << min(failures, 6)), 300)
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(Int(wait * 1000))) }
        }
    }
}

/// `sync.retention` applied while the node runs: a purge every hour (sooner for a short retention).
struct PurgeLoop: Service {
    let node: SyncNode
    let every: Double
    let logger: Logger

    static func interval(retention: Double) -> Double { min(3_600, max(5, retention / 2)) }

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(Int(every * 1000))) }
            if Task.isShuttingDownGracefully || Task.isCancelled { return }
            do {
                _ = try await node.purge()
            } catch {
                logger.warning("purge failed: \(error)")
            }
        }
    }
}
