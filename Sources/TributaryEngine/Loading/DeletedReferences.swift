import Foundation
import TributaryCore
import TributarySQL

/// A delete and a reference to its row that cross on their way: one node deletes a row while
/// another records a row that refers to it (a correction's `previous_version`, a member of an
/// obs group, an obs of an encounter, an identifier of a patient). Every node applies the same
/// rule, so all end the same:
/// - the delete stands, as it does against an update (`ConflictResolution.decideDeletion`);
/// - a nullable reference to the deleted row is cleared;
/// - a patient-data row whose NOT NULL reference names it goes with it (it cannot exist
///   without it), at the node the delete reaches and at the node the row reaches;
/// - a shared-metadata or site-local row is never removed that way: the batch fails with
///   the reason, for a person (a user whose person was purged elsewhere is not deleted silently).
/// Each case is recorded as a conflict with the values of what was cleared or removed.
struct DeletedReferences {
    let catalog: TableCatalog
    let tx: any SQLExecutor

    /// Bounds a cascade through NOT NULL references (a cycle of them would not end).
    static let maximumDepth = 8

    /// What a release did, for the conflict record.
    struct Released {
        var cleared: [String] = []
        var removed: [String] = []
        var tables = Set<String>()

        var description: String {
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            let object = ["cleared": cleared, "removed": removed]
            return String(decoding: (try? encoder.encode(object)) ?? Data(), as: UTF8.self)
        }
    }

    /// Whether rows of this table may be removed because a row they need was deleted elsewhere.
    static func mayRemove(_ entry: TableCatalog.Entry) -> Bool {
        entry.family == .clinical || entry.family == .module
    }

    /// Clears or removes what still refers, here, to the row at `locator` so that it can be deleted.
    func release(_ entry: TableCatalog.Entry, locator: [(String, SQLValue)], into released: inout Released, depth: Int = 0) async throws {
        let referrers = catalog.entries.flatMap { referrer in
            referrer.references.filter { $0.targetTable == entry.name }.map { (referrer, $0) }
        }
        guard !referrers.isEmpty else { return }
        let targetColumns = Set(referrers.map(\.1.targetColumn)).filter { entry.table.column($0) != nil }.sorted()
        guard !targetColumns.isEmpty,
              let row = try await tx.query("SELECT \(idents: targetColumns) FROM \(ident: entry.name) WHERE \(KeyResolver.whereClause(locator))").first
        else { return }
        for (referrer, reference) in referrers {
            let value = row[reference.targetColumn]
            guard let column = referrer.table.column(reference.column), !value.isNull else { continue }
            let keyColumns = referrer.table.primaryKey.isEmpty ? [reference.column] : referrer.table.primaryKey
            let shown = referrer.table.column("uuid") != nil && !keyColumns.contains("uuid") ? keyColumns + ["uuid"] : keyColumns
            let found = try await tx.query("SELECT \(idents: shown) FROM \(ident: referrer.name) WHERE \(ident: reference.column) = \(value)")
            for referring in found {
                let locatorThere = keyColumns.map { ($0, referring[$0]) }
                if referrer.name == entry.name, locatorThere.map(\.1) == locator.map(\.1) { continue }  // a row naming itself
                let label = "\(referrer.name) \(referring.string("uuid") ?? keyColumns.map { "\(referring[$0])" }.joined(separator: ","))"
                if column.nullable {
                    try await tx.execute("UPDATE \(ident: referrer.name) SET \(ident: reference.column) = NULL WHERE \(KeyResolver.whereClause(locatorThere))")
                    released.cleared.append("\(label) \(reference.column)")
                } else {
                    guard Self.mayRemove(referrer), depth < Self.maximumDepth else {
                        throw SyncError.stillReferenced(table: entry.name, by: label, column: reference.column)
                    }
                    try await release(referrer, locator: locatorThere, into: &released, depth: depth + 1)
                    try await tx.execute("DELETE FROM \(ident: referrer.name) WHERE \(KeyResolver.whereClause(locatorThere))")
                    released.removed.append(label)
                }
                released.tables.insert(referrer.name)
            }
        }
    }

    /// Whether the row with this sync key was deleted here (its delete is in the change log):
    /// a row arriving that refers to it meets a delete that crossed it.
    func wasDeleted(table: String, key: WireKey) async throws -> Bool {
        guard let entry = catalog[table] else { return false }
        switch entry.key.kind {
        case .uuid:
            guard key.count == 1, case .string(let uuid) = key[0] else { return false }
            let rows = try await tx.query("""
                SELECT old_row FROM tributary_change
                WHERE table_name = \(entry.name) AND operation = 'D' AND old_row LIKE \("%" + uuid + "%")
                ORDER BY change_id DESC LIMIT 20
                """)
            return rows.contains { row in
                row.string("old_row").flatMap { try? ImageDecoding.image($0) }?["uuid"]?.description == uuid
            }
        case .parent:
            // A patient is deleted with its person (its key is the person's uuid).
            guard let column = entry.table.primaryKey.first, let reference = entry.reference(on: column) else { return false }
            return try await wasDeleted(table: reference.targetTable, key: key)
        case .natural, .none:
            return false
        }
    }
}
