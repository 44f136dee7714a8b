/// One result row: column names and values in the order the query gave them.
public struct Row: Sendable, Hashable {
    public let columns: [String]
    public let values: [SQLValue]

    public init(columns: [String], values: [SQLValue]) {
        self.columns = columns
        self.values = values
    }

    public subscript(_ index: Int) -> SQLValue { values[index] }

    /// The value of a column by name (case-insensitive, as databases fold names differently).
    public subscript(_ name: String) -> SQLValue {
        if let i = columns.firstIndex(of: name) { return values[i] }
        if let i = columns.firstIndex(where: { $0.caseInsensitiveCompare(name) == .orderedSame }) { return values[i] }
        return .null
    }

    public func int(_ name: String) -> Int64? { self[name].int64 }
    public func string(_ name: String) -> String? { self[name].string }
    /// Booleans as each dialect returns them: true/false, 0/1, or their text.
    public func bool(_ name: String) -> Bool? {
        switch self[name] {
        case .bool(let v): v
        case .integer(let v): v != 0
        case .text(let v): ["1", "t", "true"].contains(v.lowercased()) ? true : (["0", "f", "false"].contains(v.lowercased()) ? false : nil)
        default: nil
        }
    }

    public var dictionary: [String: SQLValue] {
        Dictionary(zip(columns, values), uniquingKeysWith: { first, _ in first })
    }
}
