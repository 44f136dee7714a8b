import Foundation
import TributarySQL

/// Reads the JSON row images capture triggers write.
enum ImageDecoding {
    static func image(_ text: String) throws -> RowImage {
        try JSONDecoder().decode(RowImage.self, from: Data(text.utf8))
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
