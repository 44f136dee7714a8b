/// One change as it travels: the row by its sync key, its images with foreign keys
/// translated to sync keys, and its origin stamp (carried unchanged through every tier).
public struct WireChange: Sendable, Hashable, Codable {
    public var table: String
    public var operation: ChangeOperation
    public var key: WireKey
    /// The row after the change (absent for a delete).
    public var row: [String: WireValue]?
    /// The row before the change (absent for an insert).
    public var old: [String: WireValue]?
    public var originNode: NodeID
    public var originTime: String
    /// A snapshot of the row (initial load, reload) rather than a change made to it: the
    /// receiver matches or merges it, and waits for references still on their way.
    public var load: Bool
    /// How deep the origin node sits in the tree (0: the root), for parent-/child-wins.
    public var originDepth: Int?
    /// A person's decision of a conflict: every node applies it without a conflict check.
    public var forced: Bool

    enum CodingKeys: String, CodingKey {
        case table, operation = "op", key, row, old, originNode = "origin_node", originTime = "origin_time", load
        case originDepth = "origin_depth", forced
    }

    public init(table: String, operation: ChangeOperation, key: WireKey, row: [String: WireValue]?, old: [String: WireValue]?,
                originNode: NodeID, originTime: String, load: Bool = false, originDepth: Int? = nil, forced: Bool = false) {
        self.load = load
        self.originDepth = originDepth
        self.forced = forced
        self.table = table
        self.operation = operation
        self.key = key
        self.row = row
        self.old = old
        self.originNode = originNode
        self.originTime = originTime
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        table = try c.decode(String.self, forKey: .table)
        operation = try c.decode(ChangeOperation.self, forKey: .operation)
        key = try c.decode(WireKey.self, forKey: .key)
        row = try c.decodeIfPresent([String: WireValue].self, forKey: .row)
        old = try c.decodeIfPresent([String: WireValue].self, forKey: .old)
        originNode = try c.decode(NodeID.self, forKey: .originNode)
        originTime = try c.decode(String.self, forKey: .originTime)
        load = try c.decodeIfPresent(Bool.self, forKey: .load) ?? false
        originDepth = try c.decodeIfPresent(Int.self, forKey: .originDepth)
        forced = try c.decodeIfPresent(Bool.self, forKey: .forced) ?? false
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(table, forKey: .table)
        try c.encode(operation, forKey: .operation)
        try c.encode(key, forKey: .key)
        try c.encodeIfPresent(row, forKey: .row)
        try c.encodeIfPresent(old, forKey: .old)
        try c.encode(originNode, forKey: .originNode)
        try c.encode(originTime, forKey: .originTime)
        if load { try c.encode(true, forKey: .load) }
        try c.encodeIfPresent(originDepth, forKey: .originDepth)
        if forced { try c.encode(true, forKey: .forced) }
    }
}

/// What identifies a batch on the wire and what it holds.
public struct BatchHeader: Sendable, Hashable, Codable {
    public var batchID: Int64
    public var source: NodeID
    public var target: NodeID
    public var channel: String
    public var count: Int
    /// Set when the batch carries bulk rows (`Batch.bulkRows`) instead of changes.
    public var bulk: BulkDescriptor?

    enum CodingKeys: String, CodingKey { case batchID = "batch_id", source, target, channel, count, bulk }

    public init(batchID: Int64, source: NodeID, target: NodeID, channel: String, count: Int, bulk: BulkDescriptor? = nil) {
        self.batchID = batchID
        self.source = source
        self.target = target
        self.channel = channel
        self.count = count
        self.bulk = bulk
    }
}

public struct Batch: Sendable, Hashable, Codable {
    public var header: BatchHeader
    public var changes: [WireChange]
    /// The lines of a bulk batch (`header.bulk`), as the sender's database wrote them.
    public var bulkRows: [String]

    public init(header: BatchHeader, changes: [WireChange], bulkRows: [String] = []) {
        self.header = header
        self.changes = changes
        self.bulkRows = bulkRows
    }

    enum CodingKeys: String, CodingKey { case header, changes, bulkRows = "bulk_rows" }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        header = try c.decode(BatchHeader.self, forKey: .header)
        changes = try c.decodeIfPresent([WireChange].self, forKey: .changes) ?? []
        bulkRows = try c.decodeIfPresent([String].self, forKey: .bulkRows) ?? []
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(header, forKey: .header)
        try c.encode(changes, forKey: .changes)
        if header.bulk != nil { try c.encode(bulkRows, forKey: .bulkRows) }
    }

    /// Changes or bulk rows: what the header's count counts.
    public var size: Int { header.bulk == nil ? changes.count : bulkRows.count }
}

/// The receiver's word on a batch.
public struct Ack: Sendable, Hashable, Codable {
    public enum Status: String, Sendable, Codable { case applied, failed }
    public struct Failure: Sendable, Hashable, Codable {
        public var table: String?
        public var key: String?
        public var cause: String
        public init(table: String?, key: String?, cause: String) {
            self.table = table
            self.key = key
            self.cause = cause
        }
    }

    public var batchID: Int64
    public var status: Status
    /// Rows written per operation, when applied.
    public var applied: Int
    /// True when the batch had been applied before and was not applied again.
    public var duplicate: Bool
    public var failure: Failure?
    /// What was applied with a caveat (a column this node does not have, ignored).
    public var warnings: [String]

    enum CodingKeys: String, CodingKey { case batchID = "batch_id", status, applied, duplicate, failure, warnings }

    public init(batchID: Int64, status: Status, applied: Int = 0, duplicate: Bool = false, failure: Failure? = nil, warnings: [String] = []) {
        self.batchID = batchID
        self.status = status
        self.applied = applied
        self.duplicate = duplicate
        self.failure = failure
        self.warnings = warnings
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        batchID = try c.decode(Int64.self, forKey: .batchID)
        status = try c.decode(Status.self, forKey: .status)
        applied = try c.decodeIfPresent(Int.self, forKey: .applied) ?? 0
        duplicate = try c.decodeIfPresent(Bool.self, forKey: .duplicate) ?? false
        failure = try c.decodeIfPresent(Failure.self, forKey: .failure)
        warnings = try c.decodeIfPresent([String].self, forKey: .warnings) ?? []
    }
}
