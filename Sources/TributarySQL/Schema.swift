/// A database's tables as introspected from the live database.
public struct DatabaseSchema: Sendable, Hashable {
    public var tables: [TableSchema]

    public init(tables: [TableSchema]) { self.tables = tables.sorted { $0.name < $1.name } }

    public subscript(_ name: String) -> TableSchema? { tables.first { $0.name == name } }

    /// The schema without Tributary's own bookkeeping tables.
    public var applicationTables: DatabaseSchema {
        DatabaseSchema(tables: tables.filter { !$0.name.hasPrefix("tributary_") })
    }
}

public struct TableSchema: Sendable, Hashable {
    public var name: String
    public var columns: [ColumnSchema] { didSet { columnIndex = Self.index(columns) } }
    /// Column name → position, for lookups on the loader's hot path.
    private var columnIndex: [String: Int] = [:]
    public var primaryKey: [String]
    public var uniqueConstraints: [[String]]
    public var foreignKeys: [ForeignKey]

    public init(name: String, columns: [ColumnSchema], primaryKey: [String], uniqueConstraints: [[String]], foreignKeys: [ForeignKey]) {
        self.name = name
        self.columns = columns
        self.columnIndex = Self.index(columns)
        self.primaryKey = primaryKey
        self.uniqueConstraints = uniqueConstraints
        self.foreignKeys = foreignKeys.sorted { ($0.columns.joined(separator: ","), $0.referencedTable) < ($1.columns.joined(separator: ","), $1.referencedTable) }
    }

    public func column(_ name: String) -> ColumnSchema? { columnIndex[name].map { columns[$0] } }

    static func index(_ columns: [ColumnSchema]) -> [String: Int] {
        Dictionary(columns.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { first, _ in first })
    }
    public var columnNames: [String] { columns.map(\.name) }

    /// The single-column foreign key whose column is `name`, if any.
    public func foreignKey(on column: String) -> ForeignKey? {
        foreignKeys.first { $0.columns == [column] }
    }
}

public struct ColumnSchema: Sendable, Hashable {
    public var name: String
    /// The type as the database declares it (`varchar(255)`, `INTEGER`, `tinyint(1)`).
    public var declaredType: String
    public var kind: ColumnKind
    public var nullable: Bool
    public var defaultValue: String?
    public var autoIncrement: Bool

    public init(name: String, declaredType: String, kind: ColumnKind, nullable: Bool, defaultValue: String?, autoIncrement: Bool) {
        self.name = name
        self.declaredType = declaredType
        self.kind = kind
        self.nullable = nullable
        self.defaultValue = defaultValue
        self.autoIncrement = autoIncrement
    }
}

public struct ForeignKey: Sendable, Hashable {
    public var name: String?
    public var columns: [String]
    public var referencedTable: String
    public var referencedColumns: [String]

    public init(name: String?, columns: [String], referencedTable: String, referencedColumns: [String]) {
        self.name = name
        self.columns = columns
        self.referencedTable = referencedTable
        self.referencedColumns = referencedColumns
    }
}
