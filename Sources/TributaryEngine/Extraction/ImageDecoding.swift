import Foundation
import TributarySQL

/// Reads the JSON row images capture triggers write.
enum ImageDecoding {
    /// `JSONSerialization` rather than `JSONDecoder`: about 3× faster on a row image, and
    /// every captured change has one or two.
    static func image(_ text: String) throws -> RowImage {
        guard let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw WireJSON.Invalid(description: "a row image must be a JSON object")
        }
        var image: RowImage = [:]
        image.reserveCapacity(object.count)
        for (column, value) in object { image[column] = try Self.value(value) }
        return image
    }

    static func value(_ any: Any) throws -> ImageValue {
        switch any {
        case is NSNull: return .null
        case let text as String: return .string(text)
        case let number as NSNumber:
            switch WireJSON.scalar(number) {
            case .bool(let v): return .bool(v)
            case .double(let v): return .number(v)
            case .int(let v): return .integer(v)
            default: return .null
            }
        default:
            // A nested value (a JSON column's content in PostgreSQL's image) travels as its text.
            let data = try JSONSerialization.data(withJSONObject: any, options: [.sortedKeys, .fragmentsAllowed])
            return .string(String(decoding: data, as: UTF8.self))
        }
    }

    /// An image as local values by column kind; columns the table no longer has are dropped.
    static func row(_ image: RowImage, table: TableSchema) -> [String: SQLValue] {
        var row: [String: SQLValue] = [:]
        for (column, value) in image {
            guard let schema = table.column(column) else { continue }
            if case .string(let text) = value, FixedChar.isFixed(schema.declaredType) {
                row[column] = WireCoding.sqlValue(ImageValue.string(FixedChar.trim(text)), kind: schema.kind)
            } else {
                row[column] = WireCoding.sqlValue(value, kind: schema.kind)
            }
        }
        return row
    }
}
