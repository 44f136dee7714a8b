import Foundation
import Logging
import TributaryCore
import TributarySQL

/// One Tributary node beside its database: the pipeline stages wired to that database.
/// Start reading here. Transports (HTTP now, files later) call these methods; all state
/// lives in the database, so a restart continues where the last run stopped.
public final class SyncNode: Sendable {
    public let configuration: NodeConfiguration
    public let database: any Database
    /// Rebuilt when table settings change (from the root, or `tables --set` at the root).
    public var catalog: TableCatalog { catalogBox.value }
    let catalogBox: Locked<TableCatalog>
    /// How deep this node sits in the tree: 0 at the root; learnt from the parent's settings.
    public var depth: Int? { depthBox.value }
    let depthBox: Locked<Int?>
    public let logger: Logger
    public var id: NodeID { configuration.node.id }
    /// One routing pass and one incoming batch at a time in this process.
    let routeLock = AsyncLock()
    let applyLock = AsyncLock()
    /// Gaps in the change log this process has warned about as long open (`Router`).
    let warnedGaps = Locked<Set<Int64>>([])
    /// Batches that failed here or at their target, and when each may be tried again.
    let retries = Locked(RetrySchedule())
    /// Bulk rows this process wrote at once (set-based) rather than taking them apart.
    public var bulkRowsWrittenAtOnce: Int { bulkCounter.value }
    let bulkCounter = Locked(0)
    /// Of those, the rows copied straight into their table (references translated here, no staging).
    public var bulkRowsCopiedStraight: Int { straightCounter.value }
    let straightCounter = Locked(0)
    /// Bulk batches written two at a time (`applyTogether`), since this node opened.
    public var bulkBatchesAppliedTogether: Int { togetherCounter.value }
    let togetherCounter = Locked(0)
    /// Whether incoming rows may be copied as a replica session here (`ReplicaCopy`).
    public let copiesAsReplica: Bool
    /// Rows written that way since this node opened.
    public var rowsCopiedAsReplica: Int { replicaCounter.value }
    let replicaCounter = Locked(0)

    init(configuration: NodeConfiguration, database: any Database, catalog: TableCatalog, depth: Int?, copiesAsReplica: Bool, logger: Logger) {
        self.copiesAsReplica = copiesAsReplica
        self.depthBox = Locked(depth)
        self.configuration = configuration
        self.database = database
        self.catalogBox = Locked(catalog)
        self.logger = logger
    }

    /// Connects, creates Tributary's tables and brings the capture triggers in line.
    public static func open(_ configuration: NodeConfiguration, logger: Logger = Logger(label: "tributary")) async throws -> SyncNode {
        let database = try await Databases.connect(configuration.database, logger: logger)
        do {
            // Serialized across processes: `status` asked while `start` comes up on a fresh
            // database would otherwise create Tributary's tables (or triggers) a second time.
            let catalog = try await database.whileOpening(logger: logger) {
                try await Migrations.apply(to: database)
                let catalog = try await Databases.catalog(for: configuration, database: database)
                try await Capture(database: database, logger: logger).reconcile(catalog)
                return catalog
            }
            // The root is the node with no parent, in its configuration or in its registration.
            let registeredParent = try await database.scalar("SELECT value FROM tributary_identity WHERE name = 'parent_node'").string
            let depth = configuration.parent == nil && registeredParent == nil
                ? 0 : try await database.scalar("SELECT value FROM tributary_identity WHERE name = 'depth'").string.flatMap { Int($0) }
            let replica = configuration.replicaCopy ? await ReplicaCopy.permitted(database) : false
            return SyncNode(configuration: configuration, database: database, catalog: catalog, depth: depth, copiesAsReplica: replica, logger: logger)
        } catch {
            await database.close()
            throw error
        }
    }

    public func close() async { await database.close() }

    // MARK: routing and batches

    public func links() async throws -> Links { try await Self.links(database) }

    /// The parent and the children registered here, as `db` sees them (in a transaction: its view).
    static func links(_ db: any SQLExecutor) async throws -> Links {
        let parent = try await db.scalar("SELECT value FROM tributary_identity WHERE name = 'parent_node'").string.map { NodeID($0) }
        let children = try await db.query("SELECT node_id FROM tributary_node ORDER BY node_id").compactMap { $0.string("node_id") }.map { NodeID($0) }
        return Links(parent: parent, children: children)
    }

    @discardableResult
    public func route() async throws -> Int {
        try await refreshSettings()
        let router = Router(database: database, catalog: catalog, batchSize: configuration.batchSize, gapTimeout: configuration.gapTimeout,
                            logger: logger, warned: warnedGaps)
        // Passes of at most `passSize` changes until the log is read to where it ended when routing
        // began: "nothing pending" must mean nothing left, also when many changes were for no one
        // (rows loaded from the parent). Not further: while an application kept writing, the
        // passes chased the writer and nothing was sent until it stopped (the first row of a
        // 100,000-obs load reached the parent only when the last was written).
        let passSize = 10_000
        let database = database
        return try await exclusively(.routing, routeLock) {
            let end = try await database.scalar("SELECT MAX(change_id) FROM tributary_change").int64 ?? 0
            var total = 0
            while true {
                let read = try await router.route(links: { try await Self.links($0) }, limit: passSize)
                total += read
                if read < passSize { return total }
                let position = try await database.scalar("SELECT last_change_id FROM tributary_router WHERE id = 1").int64 ?? 0
                if position >= end { return total }
            }
        }
    }

    public func pending(for target: NodeID, excluding channels: Set<String> = []) async throws -> [OutgoingBatches.Pending] {
        try await OutgoingBatches.pending(database, target: target, excluding: channels)
    }

    /// The pending batches that may be tried now: one that failed lately waits out its
    /// back-off (`RetrySchedule`) and holds the rest of its channel meanwhile.
    public func due(_ pending: [OutgoingBatches.Pending]) -> [OutgoingBatches.Pending] {
        let now = Self.monotonicNow()
        return retries.value.due(pending, at: now, id: \.batchID, channel: \.channel)
    }

    /// Seconds on a clock that does not jump with the wall clock.
    static func monotonicNow() -> Double { ProcessInfo.processInfo.systemUptime }

    /// The wire form of one outgoing batch.
    public func batch(_ pending: OutgoingBatches.Pending) async throws -> Batch {
        let changes = try await OutgoingBatches.changes(database, batchID: pending.batchID)
        if let marker = changes.first, let range = marker.bulk {
            guard changes.count == 1 else { throw SyncError.protocolError("batch \(pending.batchID) mixes a bulk marker with other changes") }
            return try await BulkSnapshot.batch(marker, range: range, pending: pending, node: self)
        }
        let wire = try await Extractor(db: database, catalog: catalog, localNode: id, localDepth: depth).wireChanges(changes)
        return Batch(header: BatchHeader(batchID: pending.batchID, source: id, target: pending.target, channel: pending.channel, count: wire.count),
                     changes: wire)
    }

    func loader() -> Loader {
        Loader(database: database, catalog: catalog, localNode: id, localDepth: depth,
               replicaRows: copiesAsReplica ? replicaCounter : nil, logger: logger)
    }

    public func apply(_ batch: Batch) async -> Ack {
        if let refused = await refusal(batch) { return await Loader.failed(batch.header, refused, database: database, logger: logger) }
        let loader = loader()
        let fromParent = (try? await identity("parent_node")) == batch.header.source.rawValue
        do {
            return try await exclusively(.applying, applyLock) { await self.apply(batch, loader: loader, fromParent: fromParent) }
        } catch {
            return Ack(batchID: batch.header.batchID, status: .failed, failure: Loader.failure(error, change: nil))
        }
    }

    /// Purges what is older than `olderThan` seconds (default `sync.retention`), holding the
    /// routing lock: what it keeps depends on what routing has passed and batched.
    public func purge(olderThan: Double? = nil) async throws -> Purge.Report {
        let purge = Purge(database: database, catalog: catalog)
        let age = olderThan ?? configuration.retention
        let report = try await exclusively(.routing, routeLock) { try await purge.run(olderThan: age) }
        if report.total > 0 { logger.info("purged \(report.description)") }
        return report
    }

    /// Runs `body` as the only router (or applier) of this database: the in-process lock keeps
    /// this process's tasks in turn, the database lock every other process's.
    func exclusively<T: Sendable>(_ lock: DatabaseLock, _ local: AsyncLock, _ body: @Sendable () async throws -> T) async throws -> T {
        let logger = logger
        return try await local.withLock {
            try await self.database.withLock(lock, waiting: { waited in
                if waited == .zero { logger.debug("waiting for another process on this database", metadata: ["lock": "\(lock.name)"]) }
            }, body)
        }
    }

    /// Whether `second` may be written together with `first` (`applyTogether`).
    public func mayApplyTogether(_ first: Batch, _ second: Batch) -> Bool {
        database.syntax == .postgres && BulkPairing.independent(first, second, catalog: catalog)
    }

    /// Two bulk batches of one table (`mayApplyTogether`) written at the same time, each in its
    /// own transaction; what one of them cannot write at once is then taken apart, in order.
    public func applyTogether(_ first: Batch, _ second: Batch) async -> [Ack] {
        let firstRefused = await refusal(first), secondRefused = await refusal(second)
        if firstRefused != nil || secondRefused != nil { return [await apply(first), await apply(second)] }
        let loader = loader()
        let fromParent = (try? await identity("parent_node")) == first.header.source.rawValue
        let hasChildren = !((try? await links().children.isEmpty) ?? false)
        do {
            return try await exclusively(.applying, applyLock) {
                async let firstOutcome = self.bulkOutcome(first, hasChildren: hasChildren)
                async let secondOutcome = self.bulkOutcome(second, hasChildren: hasChildren)
                let outcomes = await [firstOutcome, secondOutcome]
                self.togetherCounter.withLock { $0 += 2 }
                var acks: [Ack] = []
                for (batch, outcome) in zip([first, second], outcomes) {
                    acks.append(await self.finishBulk(batch, outcome, loader: loader, fromParent: fromParent))
                }
                return acks
            }
        } catch {
            return [first, second].map { Ack(batchID: $0.header.batchID, status: .failed, failure: Loader.failure(error, change: nil)) }
        }
    }

    private func apply(_ batch: Batch, loader: Loader, fromParent: Bool) async -> Ack {
        guard batch.header.bulk != nil else { return await loader.apply(batch, fromParent: fromParent) }
        let outcome = await bulkOutcome(batch, hasChildren: !((try? await links().children.isEmpty) ?? false))
        return await finishBulk(batch, outcome, loader: loader, fromParent: fromParent)
    }

    /// Bulk rows: written by a few set-based statements when they can be.
    private func bulkOutcome(_ batch: Batch, hasChildren: Bool) async -> BulkLoader.Outcome {
        guard let bulk = batch.header.bulk else { return .takeApart }
        let bulkLoader = BulkLoader(database: database, catalog: catalog, logger: logger, copiedStraight: straightCounter)
        return await bulkLoader.apply(batch, descriptor: bulk, hasChildren: hasChildren)
    }

    /// What the set-based statements left is taken apart into ordinary snapshot changes
    /// (matched, merged, waiting for references as those are).
    private func finishBulk(_ batch: Batch, _ outcome: BulkLoader.Outcome, loader: Loader, fromParent: Bool) async -> Ack {
        guard let bulk = batch.header.bulk else { return await loader.apply(batch, fromParent: fromParent) }
        var rest = batch, written = 0
        switch outcome {
        case .applied(let ack):
            if !ack.duplicate { bulkCounter.withLock { $0 += ack.applied } }
            return ack
        case .rest(let rows, let count):
            (rest.bulkRows, rest.header.count, written) = (rows, rows.count, count)
            bulkCounter.withLock { $0 += count }
        case .takeApart: break
        }
        do {
            var ack = await loader.apply(try BulkExpansion.batch(rest, descriptor: bulk, catalog: catalog), fromParent: fromParent)
            if ack.status == .applied, !ack.duplicate { ack.applied += written }
            return ack
        } catch {
            return Ack(batchID: batch.header.batchID, status: .failed, failure: Loader.failure(error, change: nil))
        }
    }

    @discardableResult
    public func record(_ ack: Ack, from target: NodeID) async throws -> Bool {
        let known = try await OutgoingBatches.record(database, ack: ack, from: target)
        if ack.status == .applied {
            retries.withLock { $0.succeeded(ack.batchID) }
        } else {
            let now = Self.monotonicNow()
            var retryAt = now
            retries.withLock { retryAt = $0.failed(ack.batchID, at: now) }
            logger.warning("batch failed at \(target); tried again in \(Int(retryAt - now)) s", metadata: [
                "batch": "\(ack.batchID)", "cause": "\(ack.failure?.cause ?? "unknown")"])
        }
        if known, ack.status == .applied, database.syntax == .postgres { try await BulkSnapshot.dropFinished(database, acked: ack.batchID) }
        return known
    }

    // MARK: credentials

    /// Whether `secret` is the one issued to `node`; records the contact when it is.
    public func authenticate(node: NodeID, secret: String) async throws -> Bool {
        guard let row = try await database.query("SELECT secret_hash, revoked_at FROM tributary_node WHERE node_id = \(node.rawValue)").first,
              row["revoked_at"] == .null, let stored = row.string("secret_hash"), Secrets.matches(secret, hash: stored) else { return false }
        try await database.execute("UPDATE tributary_node SET last_contact = \(SQLValue.datetime(Clock.nowText())) WHERE node_id = \(node.rawValue)")
        return true
    }

    public func identity(_ name: String) async throws -> String? {
        try await database.scalar("SELECT value FROM tributary_identity WHERE name = \(name)").string
    }

    /// Keeps the parent's answer; the initial load from the parent is awaited from now on.
    /// The keys of the rows held now are noted for the load up: once the parent's load is in,
    /// those rows (as they are then, merged where they matched) go up, not what came down.
    public func storeCredentials(_ response: RegistrationResponse) async throws {
        let snapshot = self.snapshot()
        try await database.transaction { tx in
            for (name, value) in [("parent_node", response.parent.rawValue), ("parent_secret", response.secret),
                                  ("initial_load", InitialLoadState.receiving.rawValue), ("registration", "accepted")] {
                try await Self.setIdentity(name, value, tx)
            }
            try await snapshot.enqueue(snapshot.tables(flowing: .up), for: response.parent, in: tx, mode: .holdKeys)
        }
        // No longer a root: the depth is learnt from the parent's settings.
        if try await identity("depth") == nil { depthBox.set(nil) }
    }

    static func setIdentity(_ name: String, _ value: String, _ tx: any SQLExecutor) async throws {
        try await tx.execute("DELETE FROM tributary_identity WHERE name = \(name)")
        try await tx.execute("INSERT INTO tributary_identity (name, value) VALUES (\(name), \(value))")
    }

    public func setIdentity(_ name: String, _ value: String) async throws {
        try await database.transaction { tx in try await Self.setIdentity(name, value, tx) }
    }

    /// The random claim this node presents when it registers, made once and kept.
    public func registrationClaim() async throws -> String {
        if let claim = try await identity("registration_claim") { return claim }
        let claim = Secrets.make()
        try await setIdentity("registration_claim", claim)
        return claim
    }

    public func credentials() async throws -> (parent: NodeID, secret: String)? {
        guard let parent = try await identity("parent_node"), let secret = try await identity("parent_secret") else { return nil }
        return (NodeID(parent), secret)
    }
}
