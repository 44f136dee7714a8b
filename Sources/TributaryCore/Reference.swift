/// A column that holds another row's key: a declared foreign key, or one the
/// application treats as a reference without telling the database.
public struct Reference: Sendable, Hashable, Codable {
    public var column: String
    public var targetTable: String
    public var targetColumn: String

    public init(column: String, targetTable: String, targetColumn: String) {
        self.column = column
        self.targetTable = targetTable
        self.targetColumn = targetColumn
    }
}
