import Foundation
import TributaryCore
import TributarySQL

extension SyncNode {
    /// The trust boundary for `batch`, from what this node holds now: its links, its depth,
    /// the conflicts recorded here for the rows the batch forces, and its clock.
    func trustBoundary(for batch: Batch) async throws -> TrustBoundary {
        let links = try await links()
        var conflicted = Set<String>()
        let forced = Dictionary(grouping: batch.changes.filter(\.forced), by: \.table)
            .mapValues { Set($0.map { WireValue.key($0.key).description }) }
        for (table, keys) in forced.sorted(by: { $0.key < $1.key }) {
            let list = SQL.join(keys.sorted().map { "\($0)" }, separator: ", ")
            for row in try await database.query("SELECT sync_key FROM tributary_conflict WHERE table_name = \(table) AND sync_key IN (\(list))") {
                if let key = row.string("sync_key") { conflicted.insert("\(table) \(key)") }
            }
        }
        let facts = TrustBoundary.Facts(
            local: id, localDepth: depth, parent: links.parent, children: Set(links.children), conflictedRows: conflicted,
            latestOriginTime: Clock.nowText(Date().addingTimeInterval(configuration.clockSkew)))
        let catalog = catalog
        return TrustBoundary(facts: facts) { table in catalog[table]?.setting }
    }

    /// Why `batch` may not be applied here, as the failure its sender is told (nil: it may).
    func refusal(_ batch: Batch) async -> Ack.Failure? {
        do {
            return try await trustBoundary(for: batch).check(batch)
        } catch {
            return Ack.Failure(table: nil, key: nil, cause: "cannot check batch \(batch.header.batchID) from \(batch.header.source): \(error)")
        }
    }
}
