import TributaryCore
import TributarySQL

/// The child's side of the initial load. The parent queues its tables at registration;
/// once a round ends with nothing left to pull, the child has them all (matched by sync
/// key, merged where another unique key matched), and sends up the rows it held before
/// joining (noted at registration) for the tables that flow up: rows the parent lacks are
/// added there, the rest match. What came down does not go back up.
extension SyncNode {
    /// Initial loads and reloads as this node's configuration has them.
    func snapshot() -> Snapshot { Snapshot(database: database, catalog: catalog, bulkMinimumRows: configuration.bulkMinimumRows,
                                     bulkBatchRows: configuration.bulkBatchRows) }

    public func initialLoadState() async throws -> InitialLoadState? {
        try await identity("initial_load").flatMap(InitialLoadState.init(rawValue:))
    }

    /// Called after a round that pulled everything without a failure.
    public func advanceInitialLoad(parent: NodeID) async throws {
        switch try await initialLoadState() {
        case .receiving:
            let snapshot = self.snapshot()
            let rows = try await database.transaction { tx in
                try await snapshot.enqueue(snapshot.tables(flowing: .up), for: parent, in: tx, mode: .heldRows)
            }
            try await setIdentity("initial_load", InitialLoadState.sending.rawValue)
            try await queueDeferredLoads()
            logger.info("initial load received; sending up what this node holds", metadata: ["rows": "\(rows)"])
        case .sending:
            try await route()
            if try await pending(for: parent).isEmpty {
                try await setIdentity("initial_load", InitialLoadState.done.rawValue)
                logger.info("initial load complete")
            }
        case .done, nil:
            break
        }
    }

    /// Re-sends whole tables to a linked node (`tributary reload`); all synced tables flowing that way when `tables` is nil.
    @discardableResult
    public func reload(_ target: NodeID, tables only: Set<String>? = nil) async throws -> Int {
        let links = try await links()
        let direction: Direction
        if target == links.parent { direction = .up } else if links.children.contains(target) { direction = .down } else {
            throw SyncError.protocolError("\(target) is neither this node's parent nor one of its children")
        }
        if let only {
            for table in only where catalog[table]?.syncs != true { throw SyncError.notEnabled(table) }
        }
        let snapshot = self.snapshot()
        return try await snapshot.enqueue(snapshot.tables(flowing: direction, only: only, initialLoad: only == nil), for: target)
    }
}
