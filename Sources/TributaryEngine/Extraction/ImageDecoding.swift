import TributarySQL

/// Reads the JSON row images capture triggers write.
enum ImageDecoding {
    static func image(_ text: String) throws -> RowImage {
        guard case .object(let members) = try JSONScanner.parse(text) else {
            throw WireJSON.Invalid(description: "a row image must be a JSON object")
        }
        var image: RowImage = [:]
        image.reserveCapacity(members.count)
        for (column, value) in members { image[column] = Self.value(value) }
        return image
    }

    static func value(_ node: JSONNode) -> ImageValue {
        switch node {
        case .null: return .null
        case .string(let text): return .string(text)
        case .bool(let v): return .bool(v)
        case .integer(let v): return .integer(v)
        case .double(let v):
            if case .int(let whole) = WireJSON.wholeOrDouble(v) { return .integer(whole) }
            return .number(v)
        case .array, .object:
            // A nested value (a JSON column's content in PostgreSQL's image) travels as its text.
            return .string(node.canonicalText)
        }
    }

    /// An image as local values by column kind; columns the table no longer has are dropped.
    static func row(_ image: RowImage, table: TableSchema) -> [String: SQLValue] {
        var row: [String: SQLValue] = [:]
        for (column, value) in image {
            guard let schema = table.column(column) else { continue }
            row[column] = Self.value(value, column: schema)
        }
        return row
    }

    /// One image value as the local column holds it.
    static func value(_ value: ImageValue, column: ColumnSchema) -> SQLValue {
        if case .string(let text) = value, text.utf8.last == 0x20, FixedChar.isFixed(column.declaredType) {
            return WireCoding.sqlValue(ImageValue.string(FixedChar.trim(text)), kind: column.kind)
        }
        return WireCoding.sqlValue(value, kind: column.kind)
    }
}
