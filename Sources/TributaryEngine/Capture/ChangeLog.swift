import Foundation
import TributaryCore
import TributarySQL

/// A value in a captured row image (JSON as the trigger wrote it).
public enum ImageValue: Sendable, Hashable, Decodable, CustomStringConvertible {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let v = try? container.decode(Bool.self) { self = .bool(v) }
        else if let v = try? container.decode(Int64.self) { self = .integer(v) }
        else if let v = try? container.decode(Double.self) { self = .number(v) }
        else { self = .string(try container.decode(String.self)) }
    }

    public var description: String {
        switch self {
        case .null: "null"
        case .bool(let v): String(v)
        case .integer(let v): String(v)
        case .number(let v): String(v)
        case .string(let v): v
        }
    }
}

public typealias RowImage = [String: ImageValue]

/// One row of `tributary_change`.
public struct CapturedChange: Sendable, Hashable {
    public var changeID: Int64
    public var table: String
    public var operation: ChangeOperation
    public var key: RowImage
    public var newRow: RowImage?
    public var oldRow: RowImage?
    public var capturedAt: String
    public var transactionID: String?
    /// The node the change was loaded from; nil when it was made here.
    public var sourceNode: String?
    /// The node where the change was first made; nil when it was made here.
    public var originNode: String?
    public var originTime: String
    /// Set on a snapshot row (initial load, reload): the one node it goes to.
    public var targetNode: String? = nil
    /// A person's decision of a conflict (`manual`): applied everywhere without a conflict check.
    public var forced = false
    /// Set on a bulk marker (operation `B`): it stands for a range of rows of a bulk copy.
    public var bulk: BulkRange? = nil
}

/// The rows `from…to` (by `seq`) of a bulk copy table (see `BulkSnapshot`).
public struct BulkRange: Sendable, Hashable {
    public var copy: String
    public var from: Int64
    public var to: Int64
}

/// Reads the change log in capture order.
public enum ChangeLog {
    public static func read(_ db: some SQLExecutor, after changeID: Int64 = 0, limit: Int = 10_000) async throws -> [CapturedChange] {
        let rows = try await db.query("""
            SELECT change_id, table_name, operation, pk, new_row, old_row, captured_at, transaction_id,
                   source_node, origin_node, origin_time, target_node, forced
            FROM tributary_change WHERE change_id > \(changeID) ORDER BY change_id LIMIT \(limit)
            """)
        return try rows.map(decode)
    }

    static func decode(_ row: Row) throws -> CapturedChange {
        func image(_ column: String) throws -> RowImage? {
            guard let text = row.string(column) else { return nil }
            return try ImageDecoding.image(text)
        }
        let operation = row.string("operation") ?? ""
        var bulk: BulkRange?
        if operation == BulkSnapshot.markerOperation {
            let key = try image("pk") ?? [:]
            guard case .string(let copy)? = key["copy"], case .integer(let from)? = key["from"], case .integer(let to)? = key["to"] else {
                throw SyncError.protocolError("bulk marker \(row.int("change_id") ?? 0) is malformed")
            }
            bulk = BulkRange(copy: copy, from: from, to: to)
        }
        return CapturedChange(
            changeID: row.int("change_id") ?? 0, table: row.string("table_name") ?? "",
            operation: bulk != nil ? .insert : ChangeOperation(rawValue: operation) ?? .update,
            key: try image("pk") ?? [:], newRow: try image("new_row"), oldRow: try image("old_row"),
            capturedAt: ColumnKind.datetime.normalize(row["captured_at"]).string ?? "",
            transactionID: row.string("transaction_id"), sourceNode: row.string("source_node"),
            originNode: row.string("origin_node"),
            originTime: ColumnKind.datetime.normalize(row["origin_time"]).string ?? "",
            targetNode: row.string("target_node"), forced: (row.int("forced") ?? 0) != 0, bulk: bulk)
    }

    public static func count(_ db: some SQLExecutor) async throws -> Int64 {
        try await db.scalar("SELECT COUNT(*) FROM tributary_change").int64 ?? 0
    }
}
