import ArgumentParser
import Foundation
import TributaryEngine
import TributarySQL

struct ConflictsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conflicts",
        abstract: "List the conflicts this node met: table, sync key, both versions, their origins, the policy and the decision; decide a parked one.")

    @OptionGroup var options: NodeOptions
    @Flag(name: .long, help: "Print one JSON array.") var json = false
    @Option(name: .long, help: "Show at most this many, newest first.") var limit = 100
    @Option(name: .long, help: "Decide this parked conflict (policy manual); needs --take.") var resolve: Int64?
    @Option(name: .long, help: "incoming, local, or merged:JSON (column values, e.g. merged:{\"family_name\":\"Okello\"}).") var take: String?
    @Flag(name: .long, help: "List only the conflicts waiting for a decision.") var pending = false

    func validate() throws {
        if resolve != nil, take == nil { throw ValidationError("--resolve needs --take incoming|local|merged:JSON") }
        if take != nil, resolve == nil { throw ValidationError("--take goes with --resolve ID") }
        if let take { _ = try ConflictTake(parsing: take) }
    }

    struct Record: Codable {
        var id: Int64, table: String, key: String, columns: String, local: String, incoming: String
        var localOrigin: String?, incomingOrigin: String, source: String, policy: String, decision: String, detectedAt: String
        var kind: String, resolvedAt: String?
        enum CodingKeys: String, CodingKey {
            case id, table, key = "sync_key", columns, local = "local_values", incoming = "incoming_values", localOrigin = "local_origin"
            case incomingOrigin = "incoming_origin", source = "source_node", policy, decision, detectedAt = "detected_at"
            case kind, resolvedAt = "resolved_at"
        }
    }

    func run() async throws {
        let node = try await SyncNode.open(try NodeConfiguration.load(path: options.config), logger: makeLogger("tributary"))
        if let resolve, let take {
            do {
                try await node.resolveConflict(resolve, take: try ConflictTake(parsing: take))
                await node.close()
            } catch {
                await node.close()
                throw ValidationError("\(error)")
            }
            print("conflict #\(resolve) decided: \(take.split(separator: ":")[0]); the decision syncs to every node like any change")
            return
        }
        let filter: SQL = pending ? "WHERE decision = 'pending'" : ""
        let rows = try await node.database.query("""
            SELECT conflict_id, table_name, sync_key, kind, columns, local_values, incoming_values, local_origin, incoming_origin,
                   source_node, policy, decision, detected_at, resolved_at
            FROM tributary_conflict \(filter) ORDER BY conflict_id DESC LIMIT \(limit)
            """)
        await node.close()
        let records = rows.map { row in
            Record(id: row.int("conflict_id") ?? 0, table: row.string("table_name") ?? "", key: row.string("sync_key") ?? "",
                   columns: row.string("columns") ?? "", local: row.string("local_values") ?? "", incoming: row.string("incoming_values") ?? "",
                   localOrigin: row.string("local_origin"), incomingOrigin: row.string("incoming_origin") ?? "",
                   source: row.string("source_node") ?? "", policy: row.string("policy") ?? "", decision: row.string("decision") ?? "",
                   detectedAt: ColumnKind.datetime.normalize(row["detected_at"]).string ?? "",
                   kind: row.string("kind") ?? "", resolvedAt: ColumnKind.datetime.normalize(row["resolved_at"]).string)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(records), as: UTF8.self))
            return
        }
        if records.isEmpty { print("no conflicts") }
        for r in records {
            let outcome = r.decision == "pending" ? "WAITING for a decision (--resolve \(r.id) --take incoming|local|merged:JSON)" : "kept \(r.decision)"
            print("#\(r.id) \(r.detectedAt) \(r.kind) \(r.table) \(r.key) [\(r.columns)] \(r.policy): \(outcome)")
            print("    here:     \(r.local) (\(r.localOrigin ?? "before capture"))")
            print("    incoming: \(r.incoming) (\(r.incomingOrigin), via \(r.source))")
        }
    }
}
