import TributaryCore
import TributarySQL

/// The loader's side of `DeletedReferences`: a delete that meets rows still referring to its
/// row here, and a row that arrives referring to a row deleted here.
extension Loader {
    /// Deletes the row; when the database refuses because rows here still refer to it, clears
    /// or removes them by the rule and deletes again, recording the conflict.
    func deleteReleasing(_ entry: TableCatalog.Entry, locator: [(String, SQLValue)], change: WireChange, resolver: KeyResolver,
                         progress: Progress, tx: any SQLExecutor) async throws {
        let delete: SQL = "DELETE FROM \(ident: entry.name) WHERE \(KeyResolver.whereClause(locator))"
        // A savepoint, because a refused statement ends a PostgreSQL transaction; most deletes
        // meet no reference, so the references are only looked for once the database refused.
        try await tx.execute("SAVEPOINT tributary_delete")
        do {
            try await tx.execute(delete)
            try await tx.execute("RELEASE SAVEPOINT tributary_delete")
            return
        } catch {
            try await tx.execute("ROLLBACK TO SAVEPOINT tributary_delete")
            try await tx.execute("RELEASE SAVEPOINT tributary_delete")
        }
        try await progress.stamps?.flush(tx)
        var released = DeletedReferences.Released()
        try await DeletedReferences(catalog: catalog, tx: tx).release(entry, locator: locator, into: &released)
        try await tx.execute(delete)
        for table in released.tables { resolver.forget(table: table) }
        try await conflictCheck(entry, change, progress: progress, tx: tx).recordReleased(released)
        progress.warnings.append("\(entry.name) \(WireValue.key(change.key)) was deleted while rows here referred to it: \(released.description)")
    }

    /// Whether a referenced row is gone because it was deleted here (or left out of this batch for that reason).
    func targetDeleted(_ table: String, _ key: WireKey, progress: Progress, tx: any SQLExecutor) async throws -> Bool {
        if progress.removed[table]?.contains(key) == true { return true }
        return try await DeletedReferences(catalog: catalog, tx: tx).wasDeleted(table: table, key: key)
    }

    /// A row whose NOT NULL reference names a row deleted here: not written (and removed, when
    /// an earlier version is here), as the node the delete reaches removes it.
    func removeForDeletedTarget(_ entry: TableCatalog.Entry, _ change: WireChange, locator: [(String, SQLValue)], exists: Bool,
                                column: String, reference: Reference, target: WireKey, resolver: KeyResolver, buffer: InsertBuffer,
                                present: inout [String: Set<WireKey>], fixUps: inout [FixUp], progress: Progress, tx: any SQLExecutor) async throws {
        guard DeletedReferences.mayRemove(entry) else {
            throw SyncError.missingReference(table: entry.name, key: change.key, column: column, target: reference.targetTable, targetKey: target)
        }
        try await buffer.flush(tx)
        if exists {
            var released = DeletedReferences.Released()
            try await DeletedReferences(catalog: catalog, tx: tx).release(entry, locator: locator, into: &released)
            try await tx.execute("DELETE FROM \(ident: entry.name) WHERE \(KeyResolver.whereClause(locator))")
            for table in released.tables { resolver.forget(table: table) }
            resolver.forget(table: entry.name)
        }
        fixUps.removeAll { $0.table == entry.name && $0.key == change.key }
        progress.removed[entry.name, default: []].insert(change.key)
        progress.incoming[entry.name]?.remove(change.key)
        resolver.batchKeys[entry.name]?.remove(change.key)
        present[entry.name]?.remove(change.key)
        try await conflictCheck(entry, change, progress: progress, tx: tx)
            .recordDeletedTarget(column: column, target: reference.targetTable, targetKey: target, removed: true)
        progress.warnings.append("\(entry.name) \(WireValue.key(change.key)) was left out: its \(column) names \(reference.targetTable) \(WireValue.key(target)), deleted here")
    }
}

extension ConflictCheck {
    /// A delete that cleared or removed rows referring to its row.
    func recordReleased(_ released: DeletedReferences.Released) async throws {
        try await record(.deleteReferenced, columns: [], localValues: released.description, incomingValues: "deleted", localStamp: nil, decision: .incoming)
    }

    /// An arriving row whose reference names a row deleted here: cleared, or the row left out.
    func recordDeletedTarget(column: String, target: String, targetKey: WireKey, removed: Bool) async throws {
        let incoming = values((change.row ?? [:]).keys.sorted()) { change.row?[$0]?.description ?? "null" }
        let here = "\(target) \(WireValue.key(targetKey)) deleted; " + (removed ? "row left out" : "\(column) cleared")
        try await record(.referenceDeleted, columns: [column], localValues: here, incomingValues: incoming, localStamp: nil, decision: .local)
    }
}
