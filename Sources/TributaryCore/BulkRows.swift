/// What a batch of bulk rows holds: whole rows of one table from an initial load or reload,
/// carried as the sending database wrote them (one line of COPY text per row, references
/// already replaced by the referenced rows' uuids, the local id left out), so neither side
/// takes each row apart unless it has to.
public struct BulkDescriptor: Sendable, Hashable, Codable {
    public var table: String
    /// The columns every line holds (the sender's, without its generated id).
    public var columns: [String]
    /// How the lines are spelt: `copyText`, the only format so far.
    public var format: String
    /// PostgreSQL's COPY text format (`CopyText`), values in `columns`' order, as PostgreSQL prints them.
    public static let copyText = "postgres-copy"
    public var originNode: NodeID
    public var originTime: String
    public var originDepth: Int?

    enum CodingKeys: String, CodingKey {
        case table, columns, format, originNode = "origin_node", originTime = "origin_time", originDepth = "origin_depth"
    }

    public init(table: String, columns: [String], format: String, originNode: NodeID, originTime: String, originDepth: Int?) {
        self.table = table
        self.columns = columns
        self.format = format
        self.originNode = originNode
        self.originTime = originTime
        self.originDepth = originDepth
    }
}
