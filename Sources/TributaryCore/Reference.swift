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

/// A text column that holds a row id of a table chosen per row by a type row's format:
/// OpenMRS `person_attribute.value` is a concept id when its `person_attribute_type.format`
/// is `org.openmrs.Concept`, a location id for `org.openmrs.Location`, and so on.
public struct TypedValueReference: Sendable, Hashable {
    /// The column with the value (`value`).
    public var valueColumn: String
    /// The row's reference to its type (`person_attribute_type_id`).
    public var typeColumn: String
    /// The type table's column naming the format (`format`).
    public var formatColumn: String
    /// Format → the table and column the value is an id of.
    public var targets: [String: (table: String, column: String)]

    public init(valueColumn: String, typeColumn: String, formatColumn: String, targets: [String: (table: String, column: String)]) {
        self.valueColumn = valueColumn
        self.typeColumn = typeColumn
        self.formatColumn = formatColumn
        self.targets = targets
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.valueColumn == b.valueColumn && a.typeColumn == b.typeColumn && a.formatColumn == b.formatColumn
            && a.targets.mapValues { "\($0.table).\($0.column)" } == b.targets.mapValues { "\($0.table).\($0.column)" }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(valueColumn)
        hasher.combine(typeColumn)
    }
}
