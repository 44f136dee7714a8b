import TributaryCore
import TributarySQL

/// Bulk rows taken apart into ordinary snapshot inserts, for a receiver that cannot write
/// them at once (another dialect, rows already here, a reference still on its way): the
/// lines become row images like the ones capture writes (every value as its text), with
/// uuids where references were.
public enum BulkExpansion {
    public static func batch(_ batch: Batch, descriptor: BulkDescriptor, catalog: TableCatalog) throws -> Batch {
        guard let entry = catalog[descriptor.table] else { throw SyncError.unknownTable(descriptor.table) }
        guard entry.syncs, entry.key.kind == .uuid else { throw SyncError.notEnabled(descriptor.table) }
        guard descriptor.format == BulkDescriptor.copyText else {
            throw SyncError.protocolError("batch \(batch.header.batchID): bulk rows in an unknown format \(descriptor.format)")
        }
        var changes: [WireChange] = []
        changes.reserveCapacity(batch.bulkRows.count)
        for (i, line) in batch.bulkRows.enumerated() {
            guard let fields = CopyText.fields(line, count: descriptor.columns.count) else {
                throw SyncError.protocolError("batch \(batch.header.batchID), row \(i + 1): not \(descriptor.columns.count) values of COPY text")
            }
            var image: RowImage = [:]
            image.reserveCapacity(fields.count)
            for (column, field) in zip(descriptor.columns, fields) { image[column] = field.map(ImageValue.string) ?? .null }
            guard let uuidColumn = entry.table.column("uuid"), let value = image["uuid"],
                  case .string(let uuid) = WireCoding.wire(ImageDecoding.value(value, column: uuidColumn)) else {
                throw SyncError.protocolError("batch \(batch.header.batchID), row \(i + 1): no uuid")
            }
            var row: [String: WireValue] = [:]
            row.reserveCapacity(image.count)
            for (column, value) in image {
                if entry.reference(on: column) != nil {
                    if case .string(let target) = value {
                        row[column] = .key([.string(FixedChar.trim(target))])  // a CHAR uuid's padding is not part of it
                    } else {
                        row[column] = .null
                    }
                } else if let schema = entry.table.column(column) {
                    guard !schema.autoIncrement else { continue }
                    row[column] = WireCoding.wire(ImageDecoding.value(value, column: schema))
                } else {
                    row[column] = wire(value)  // a column this node lacks: the loader notes and ignores it
                }
            }
            changes.append(WireChange(table: entry.name, operation: .insert, key: [.string(uuid)], row: row, old: nil,
                                      originNode: descriptor.originNode, originTime: descriptor.originTime, load: true,
                                      originDepth: descriptor.originDepth))
        }
        var header = batch.header
        header.bulk = nil
        header.count = changes.count
        return Batch(header: header, changes: changes)
    }

    static func wire(_ value: ImageValue) -> WireValue {
        switch value {
        case .null: .null
        case .bool(let v): .bool(v)
        case .integer(let v): .int(v)
        case .number(let v): .double(v)
        case .string(let v): .string(v)
        }
    }
}
