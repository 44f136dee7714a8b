import ArgumentParser
import Foundation
import TributaryEngine
import TributarySQL

struct ConflictsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conflicts",
        abstract: "List the conflicts this node met: table, sync key, both versions, their origins, the policy and the decision.")

    @OptionGroup var options: NodeOptions
    @Flag(name: .long, help: "Print one JSON array.") var json = false
    @Option(name: .long, help: "Show at most this many, newest first.") var limit = 100

    struct Record: Codable {
        var id: Int64, table: String, key: String, columns: String, local: String, incoming: String
        var localOrigin: String?, incomingOrigin: String, source: String, policy: String, decision: String, detectedAt: String
        enum CodingKeys: String, CodingKey {
            case id, table, key = "sync_key", columns, local = "local_values", incoming = "incoming_values", localOrigin = "local_origin"
            case incomingOrigin = "incoming_origin", source = "source_node", policy, decision, detectedAt = "detected_at"
        }
    }

    func run() async throws {
        let node = try await SyncNode.open(try NodeConfiguration.load(path: options.config), logger: makeLogger("tributary"))
        let rows = try await node.database.query("""
            SELECT conflict_id, table_name, sync_key, columns, local_values, incoming_values, local_origin, incoming_origin,
                   source_node, policy, decision, detected_at
            FROM tributary_conflict ORDER BY conflict_id DESC LIMIT \(limit)
            """)
        await node.close()
        let records = rows.map { row in
            Record(id: row.int("conflict_id") ?? 0, table: row.string("table_name") ?? "", key: row.string("sync_key") ?? "",
                   columns: row.string("columns") ?? "", local: row.string("local_values") ?? "", incoming: row.string("incoming_values") ?? "",
                   localOrigin: row.string("local_origin"), incomingOrigin: row.string("incoming_origin") ?? "",
                   source: row.string("source_node") ?? "", policy: row.string("policy") ?? "", decision: row.string("decision") ?? "",
                   detectedAt: ColumnKind.datetime.normalize(row["detected_at"]).string ?? "")
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(records), as: UTF8.self))
            return
        }
        if records.isEmpty { print("no conflicts") }
        for r in records {
            print("#\(r.id) \(r.detectedAt) \(r.table) \(r.key) [\(r.columns)] \(r.policy): kept \(r.decision)")
            print("    here:     \(r.local) (\(r.localOrigin ?? "before capture"))")
            print("    incoming: \(r.incoming) (\(r.incomingOrigin), via \(r.source))")
        }
    }
}
