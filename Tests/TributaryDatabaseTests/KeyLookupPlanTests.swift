import Foundation
import Testing
import TributaryCore
@testable import TributaryEngine
import TributarySQL

/// Lookups by a key go through the key's index. On PostgreSQL a uuid sent as `text` made the
/// server compare OpenMRS's fixed-length `char` uuid columns as text, which no index serves.
@Suite struct KeyLookupPlanTests {
    /// The plan of `lookup` with whole-table scans priced out: a scan remains only where no index can serve.
    static func plan(_ db: any Database, _ lookup: SQL) async throws -> String {
        try await db.transaction { tx in
            try await tx.execute("SET LOCAL enable_seqscan = off")
            try await tx.execute("SET LOCAL jit = off")
            return try await tx.query("EXPLAIN " + lookup).compactMap { $0.string("QUERY PLAN") }.joined(separator: "\n")
        }
    }

    @Test func oneUuidIsLookedUpThroughItsIndex() async throws {
        guard TestDatabase.all.contains(.postgres) else { return }
        let test = try await TestDatabase.postgres.fresh(.coreData)
        defer { Task { await test.close() } }
        let uuid = SyncFlowTests.uuid()
        #expect(try await test.database.scalar("SELECT data_type FROM information_schema.columns WHERE table_name = 'person' AND column_name = 'uuid'") == .text("character"))
        for lookup: SQL in [
            "SELECT person_id FROM person WHERE \(KeyResolver.whereClause([("uuid", .text(uuid))]))",
            "SELECT person_id FROM person WHERE uuid IN (\(key: .text(uuid)))",
            "SELECT person_id FROM person WHERE uuid IN (\(key: .text(uuid)), \(key: .text(uuid + "x")))",
        ] {
            let plan = try await Self.plan(test.database, lookup)
            #expect(plan.contains("person_uuid_key") && !plan.contains("Seq Scan"), "\(plan)")
        }
        // Typed as text, the same lookup of one uuid cannot use the index: what `key:` is for.
        let typed = try await Self.plan(test.database, "SELECT person_id FROM person WHERE uuid = \(uuid)")
        #expect(typed.contains("Seq Scan"), "\(typed)")
        // The value still finds its row.
        let known = try #require(try await test.database.scalar("SELECT uuid FROM person ORDER BY person_id LIMIT 1").string)
        #expect(try await test.database.scalar("SELECT COUNT(*) FROM person WHERE \(KeyResolver.whereClause([("uuid", .text(known))]))").int64 == 1)
    }
}
