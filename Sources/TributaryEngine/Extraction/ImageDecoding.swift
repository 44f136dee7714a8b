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
            guard let kind = table.column(column)?.kind else { continue }
            row[column] = WireCoding.sqlValue(value, kind: kind)
        }
        return row
    }
}
