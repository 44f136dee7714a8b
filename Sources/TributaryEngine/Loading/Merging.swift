import TributaryCore
import TributarySQL

/// A row arriving under a new sync key may be a row this node already holds under another:
/// OpenMRS installs share role names, stop words and metadata names with different uuids.
/// Such a row is found by the table's other unique keys and merged, never duplicated.
enum Merging {
    /// Unique column sets other than the sync key itself: unique constraints, and the
    /// primary key when it is not a local counter (`role.role`).
    static func candidateKeys(_ entry: TableCatalog.Entry) -> [[String]] {
        let syncColumns = Set(entry.key.columns)
        var keys = entry.table.uniqueConstraints
        let pk = entry.table.primaryKey
        if !pk.isEmpty, !pk.contains(where: { entry.table.column($0)?.autoIncrement ?? false }) { keys.append(pk) }
        var seen = Set<Set<String>>()
        return keys.filter { key in
            let set = Set(key)
            return !key.isEmpty && set != syncColumns && seen.insert(set).inserted
        }
    }

    /// The locator of the local row that has the incoming row's value on a candidate key, if any.
    static func localTwin(_ entry: TableCatalog.Entry, assignments: [(String, SQLValue)], resolver: KeyResolver,
                          tx: any SQLExecutor) async throws -> [(String, SQLValue)]? {
        guard entry.key.kind == .uuid else { return nil }
        let keys = candidateKeys(entry)
        guard !keys.isEmpty else { return nil }
        let values = Dictionary(assignments, uniquingKeysWith: { first, _ in first })
        for key in keys {
            let pairs = key.compactMap { column in values[column].map { (column, $0) } }
            guard pairs.count == key.count, !pairs.contains(where: { $0.1 == .null }) else { continue }
            try await resolver.beforeLookup?()
            if let uuid = try await tx.query("SELECT uuid FROM \(ident: entry.name) WHERE \(KeyResolver.whereClause(pairs))").first?[0], uuid != .null {
                return [("uuid", uuid)]
            }
        }
        return nil
    }
}
