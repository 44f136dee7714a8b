import TributaryCore
import TributarySQL

/// Whether a table's rows can travel in bulk at an initial load, and how each reference is
/// translated by a join instead of row by row. Pure: read from the catalog.
///
/// A table qualifies when its rows are known by uuid, its primary key is one generated
/// column, it has no typed value (`person_attribute.value`), and every reference points at
/// a uuid-keyed row, directly or through a parent-keyed table (`encounter.patient_id` →
/// `patient` → `person`): those are the references a join can translate both ways.
public struct BulkPlan: Sendable, Hashable {
    public struct Translation: Sendable, Hashable {
        public var column: String
        /// The uuid-keyed table the referenced row is known by, and the column matched.
        public var uuidTable: String
        public var uuidTableKey: String
        /// For a reference to a parent-keyed table: that table and its key column (its row must exist too).
        public var viaTable: String?
        public var viaColumn: String?
        /// A reference into the table itself (obs groups): set after the rows are written.
        public var isSelf: Bool
        public var nullable: Bool
    }

    public var table: String
    public var primaryKey: String
    /// Every column but the generated id, in table order.
    public var columns: [String]
    public var translations: [Translation]
    /// Columns whose values may be long (`mayBeWide`): a chunk counts their bytes row by row.
    public var wideColumns: [String] = []

    /// The set-based load can write these rows when a reference into the table itself can
    /// wait as NULL until every row is in.
    public var fastLoadable: Bool { translations.allSatisfy { !$0.isSelf || $0.nullable } }

    public static func make(_ entry: TableCatalog.Entry, catalog: TableCatalog) -> BulkPlan? {
        guard entry.syncs, entry.key.kind == .uuid, entry.typedValue == nil, entry.table.primaryKey.count == 1,
              let pk = entry.table.column(entry.table.primaryKey[0]), pk.autoIncrement else { return nil }
        var translations: [Translation] = []
        for reference in entry.references {
            guard let target = catalog[reference.targetTable], target.table.primaryKey == [reference.targetColumn] else { return nil }
            let nullable = entry.table.column(reference.column)?.nullable ?? true
            switch target.key.kind {
            case .uuid:
                translations.append(Translation(column: reference.column, uuidTable: target.name, uuidTableKey: reference.targetColumn,
                                                isSelf: target.name == entry.name, nullable: nullable))
            case .parent:
                guard let parentReference = target.reference(on: reference.targetColumn),
                      let parent = catalog[parentReference.targetTable], parent.key.kind == .uuid,
                      parent.table.primaryKey == [parentReference.targetColumn] else { return nil }
                translations.append(Translation(column: reference.column, uuidTable: parent.name, uuidTableKey: parentReference.targetColumn,
                                                viaTable: target.name, viaColumn: reference.targetColumn, isSelf: false, nullable: nullable))
            case .natural, .none:
                return nil
            }
        }
        return BulkPlan(table: entry.name, primaryKey: pk.name, columns: entry.table.columnNames.filter { $0 != pk.name },
                        translations: translations, wideColumns: entry.table.columns.filter(mayBeWide).map(\.name))
    }

    /// Text or bytes with no declared length, or one over 1,024.
    public static func mayBeWide(_ column: ColumnSchema) -> Bool {
        guard column.kind == .text || column.kind == .binary else { return false }
        let type = column.declaredType
        guard let open = type.firstIndex(of: "("), let close = type[open...].firstIndex(of: ")"),
              let length = Int(type[type.index(after: open)..<close].trimmingCharacters(in: .whitespaces)) else { return true }
        return length > 1024
    }
}
