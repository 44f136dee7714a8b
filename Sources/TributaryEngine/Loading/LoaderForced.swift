import TributaryCore
import TributarySQL

extension Loader {
    /// A person's decision: written without a conflict check, passed on still forced, and
    /// settling whatever conflict about the row waits here.
    func applyForced(_ change: WireChange, tx: any SQLExecutor, resolver: KeyResolver, buffer: InsertBuffer,
                     present: inout [String: Set<WireKey>], fixUps: inout [FixUp], progress: Progress) async throws {
        guard let entry = catalog[change.table] else { throw SyncError.unknownTable(change.table) }
        try await buffer.flush(tx)
        let after = try await tx.scalar("SELECT MAX(change_id) FROM tributary_change").int64 ?? 0
        let locator = try await resolver.localLocator(entry, key: change.key)
        // Two people deciding the same conflict at two nodes: the later decision stays everywhere.
        if let locator, let here = try await ForcedChanges.lastDecision(entry, locator, localNode: localNode, tx: tx),
           here > OriginStamp(time: change.originTime, node: change.originNode.rawValue) {
            progress.warnings.append("\(entry.name) \(WireValue.key(change.key)): a decision from \(change.originNode) was older than the one taken here (\(here)); kept this one")
            return
        }
        let pkBefore = try await ForcedChanges.recordedKey(entry, locator, tx)
        try await applyChange(change, tx: tx, resolver: resolver, buffer: buffer, present: &present, fixUps: &fixUps, progress: progress)
        try await buffer.flush(tx)
        let decidedHere = change.originNode == localNode
        let pk = try await ForcedChanges.recordedKey(entry, locator, tx) ?? pkBefore
        let origin = decidedHere ? nil : (source: progress.source.rawValue, node: change.originNode.rawValue, time: change.originTime)
        try await ForcedChanges.flag(entry, pk: pk, after: after, locator: change.operation == .delete ? nil : locator, origin: origin, tx: tx)
        if change.operation == .delete, pkBefore == nil, entry.key.kind == .uuid, case .string(let uuid)? = change.key.first,
           let deletion = try await conflictCheck(entry, change, progress: progress, tx: tx).lastDeletion(uuid: uuid) {
            // Gone here already, but perhaps not below or beside (a node that parked this
            // node's delete against its own edit): the decision goes on as the row's last delete.
            try await ForcedChanges.reemitDeletion(changeID: deletion.changeID, origin: origin, tx: tx)
        }
        try await ForcedChanges.closePending(table: entry.name, key: change.key, tx: tx)
    }

    /// Applies a decision taken here as a local change (no loader mark: the triggers record
    /// this node as its origin, now).
    public func applyDecision(_ change: WireChange) async throws {
        let progress = Progress()
        progress.source = localNode
        progress.change = change
        try await database.transaction { tx in
            progress.depths = try await OriginDepths.read(tx)
            let resolver = KeyResolver(db: tx, catalog: catalog)
            let buffer = InsertBuffer()
            resolver.beforeLookup = { try await buffer.flush(tx) }
            buffer.onAdd = { [weak resolver] in resolver?.wrote(table: $0) }  // weak: the resolver holds the buffer already
            try await Self.prefetchReferences([change], catalog: catalog, resolver: resolver)
            var present = try await Self.presentKeys([change], catalog: catalog, resolver: resolver)
            var fixUps: [FixUp] = []
            try await applyForced(change, tx: tx, resolver: resolver, buffer: buffer, present: &present, fixUps: &fixUps, progress: progress)
            if let fixUp = fixUps.first {
                throw SyncError.missingReference(table: fixUp.table, key: fixUp.key, column: fixUp.column,
                                                 target: fixUp.reference.targetTable, targetKey: fixUp.target)
            }
        }
    }
}
