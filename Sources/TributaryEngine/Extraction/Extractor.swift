import TributaryCore
import TributarySQL

/// Turns captured changes into wire changes: rows by sync key, every reference
/// translated to the referenced row's sync key, local generated ids left behind.
public struct Extractor {
    let resolver: KeyResolver
    let catalog: TableCatalog
    let localNode: NodeID
    let localDepth: Int?
    let db: any SQLExecutor

    public init(db: any SQLExecutor, catalog: TableCatalog, localNode: NodeID, localDepth: Int? = nil) {
        self.resolver = KeyResolver(db: db, catalog: catalog)
        self.catalog = catalog
        self.localNode = localNode
        self.localDepth = localDepth
        self.db = db
    }

    public func wireChanges(_ changes: [CapturedChange]) async throws -> [WireChange] {
        // Decode images to local values, then gather every referenced value per target for bulk resolution.
        var decoded: [(change: CapturedChange, entry: TableCatalog.Entry, new: [String: SQLValue]?, old: [String: SQLValue]?)] = []
        var wanted: [String: Set<SQLValue>] = [:]
        var targets: [String: (String, String)] = [:]
        for change in changes {
            guard let entry = catalog[change.table], entry.key.kind != .none else { throw SyncError.notEnabled(change.table) }
            let new = change.newRow.map { ImageDecoding.row($0, table: entry.table) }
            let old = change.oldRow.map { ImageDecoding.row($0, table: entry.table) }
            for reference in entry.references {
                let id = reference.targetTable + "." + reference.targetColumn
                targets[id] = (reference.targetTable, reference.targetColumn)
                for row in [new, old].compactMap({ $0 }) {
                    if let value = row[reference.column], !value.isNull { wanted[id, default: []].insert(value) }
                }
            }
            decoded.append((change, entry, new, old))
        }
        var keys: [String: [SQLValue: WireKey]] = [:]
        for (id, values) in wanted {
            let (table, column) = targets[id]!
            keys[id] = try await resolver.wireKeys(table: table, column: column, values: values)
        }

        let depths = try await OriginDepths.read(db)
        var result: [WireChange] = []
        result.reserveCapacity(decoded.count)
        for item in decoded {
            guard let keyRow = item.new ?? item.old else { continue }
            let key = try await resolver.wireKeys(ofRows: [keyRow], entry: item.entry)[0]
            func wireRow(_ row: [String: SQLValue]?) throws -> [String: WireValue]? {
                guard let row else { return nil }
                var wire: [String: WireValue] = [:]
                for (column, value) in row {
                    if let reference = item.entry.reference(on: column) {
                        if value.isNull { wire[column] = .null; continue }
                        guard let target = keys[reference.targetTable + "." + reference.targetColumn]?[value] else {
                            throw SyncError.unresolved(table: reference.targetTable, value: "\(value)", from: "\(item.entry.name).\(column)")
                        }
                        wire[column] = .key(target)
                    } else if item.entry.table.column(column)?.autoIncrement == true {
                        continue  // a local generated id never leaves the node
                    } else {
                        wire[column] = WireCoding.wire(value)
                    }
                }
                return wire
            }
            var row = try wireRow(item.new), old = try wireRow(item.old)
            if let typed = item.entry.typedValue {
                if let local = item.new, let value = try await resolver.wireTypedValue(item.entry, row: local) { row?[typed.valueColumn] = value }
                if let local = item.old, let value = try await resolver.wireTypedValue(item.entry, row: local) { old?[typed.valueColumn] = value }
            }
            result.append(WireChange(
                table: item.entry.name, operation: item.change.operation, key: key,
                row: row, old: old,
                originNode: NodeID(item.change.originNode ?? localNode.rawValue), originTime: item.change.originTime,
                load: item.change.targetNode != nil,
                originDepth: OriginDepths.depth(of: item.change.originNode ?? localNode.rawValue, known: depths, local: (localNode, localDepth)), forced: item.change.forced))
        }
        return result
    }
}
