import TributaryCore
import TributarySQL

/// Translates between local values and sync keys, both ways, for one database.
///
/// Outgoing, a referenced value (`person_id = 42`) becomes the referenced row's sync key,
/// resolved in bulk; a row deleted since is still found through the change log. Incoming,
/// a sync key becomes the local value, looked up row by row within the loader's
/// transaction (so rows written earlier in the same batch are found) and cached.
public final class KeyResolver {
    let db: any SQLExecutor
    let catalog: TableCatalog
    private var outgoing: [String: [SQLValue: WireKey]] = [:]
    private var incoming: [String: [WireKey: SQLValue]] = [:]
    /// Keys of rows the batch writes, by table, found missing since the batch last wrote there.
    private var knownMissing: [String: Set<WireKey>] = [:]
    /// Runs before every lookup in the database: the loader writes its buffered rows
    /// first, so that a lookup sees every row the batch has written so far.
    public var beforeLookup: (() async throws -> Void)?
    /// The keys of the rows the batch being loaded writes, by table (a miss on one of them asks for all).
    public var batchKeys: [String: Set<WireKey>] = [:]

    public init(db: any SQLExecutor, catalog: TableCatalog) {
        self.db = db
        self.catalog = catalog
    }

    func entry(_ table: String) throws -> TableCatalog.Entry {
        guard let entry = catalog[table] else { throw SyncError.unknownTable(table) }
        guard entry.key.kind != .none else { throw SyncError.noIdentity(table) }
        return entry
    }

    /// The parent reference of a `.parent`-keyed table: its primary key column's foreign key.
    func parentReference(_ entry: TableCatalog.Entry) throws -> Reference {
        guard let column = entry.table.primaryKey.first, let reference = entry.reference(on: column) else {
            throw SyncError.noIdentity(entry.name)
        }
        return reference
    }

    // MARK: local → wire

    /// Sync keys of the rows of `table` whose `column` holds each of `values`.
    public func wireKeys(table: String, column: String, values: Set<SQLValue>) async throws -> [SQLValue: WireKey] {
        let cacheKey = table + "." + column
        var known = outgoing[cacheKey] ?? [:]
        let missing = values.filter { !$0.isNull && known[$0] == nil }
        if !missing.isEmpty {
            let entry = try entry(table)
            let kind = entry.table.column(column)?.kind ?? .integer
            let wanted = Array(Set(entry.key.columns + [column] + (entry.key.kind == .parent ? [try parentReference(entry).column] : [])))
            var rows: [[String: SQLValue]] = []
            for chunk in Array(missing).chunked(500) {
                let list = SQL.join(chunk.map { "\(key: $0)" }, separator: ", ")
                let found = try await db.query("SELECT \(idents: wanted) FROM \(ident: table) WHERE \(ident: column) IN (\(list))")
                rows += found.map { row in Dictionary(uniqueKeysWithValues: wanted.map { ($0, entry.table.column($0)!.kind.normalize(row[$0])) }) }
            }
            let foundValues = Set(rows.map { kind.normalize($0[column] ?? .null) })
            let gone = missing.filter { !foundValues.contains(kind.normalize($0)) }
            if !gone.isEmpty { rows += try await deletedRows(entry, column: column, values: Set(gone.map(kind.normalize))) }
            let keys = try await wireKeys(ofRows: rows, entry: entry)
            for (row, key) in zip(rows, keys) { known[kind.normalize(row[column] ?? .null)] = key }
            outgoing[cacheKey] = known
        }
        var result: [SQLValue: WireKey] = [:]
        for value in values { if let key = known[value] ?? known[(catalog[table]?.table.column(column)?.kind ?? .integer).normalize(value)] { result[value] = key } }
        return result
    }

    /// The last images of deleted rows, from the change log, whose `column` holds one of `values`.
    func deletedRows(_ entry: TableCatalog.Entry, column: String, values: Set<SQLValue>) async throws -> [[String: SQLValue]] {
        let changes = try await db.query("SELECT old_row FROM tributary_change WHERE table_name = \(entry.name) AND operation = 'D' ORDER BY change_id DESC")
        var rows: [[String: SQLValue]] = []
        for change in changes {
            guard let text = change.string("old_row"), let image = try? ImageDecoding.image(text) else { continue }
            let row = ImageDecoding.row(image, table: entry.table)
            if let value = row[column], values.contains(value), !rows.contains(where: { $0[column] == value }) { rows.append(row) }
        }
        return rows
    }

    /// Sync keys of whole rows (column → local value), in order, resolving references in bulk.
    public func wireKeys(ofRows rows: [[String: SQLValue]], entry: TableCatalog.Entry) async throws -> [WireKey] {
        switch entry.key.kind {
        case .uuid:
            return rows.map { [WireCoding.wire($0["uuid"] ?? .null)] }
        case .parent:
            let reference = try parentReference(entry)
            let values = Set(rows.compactMap { $0[reference.column] })
            let parents = try await wireKeys(table: reference.targetTable, column: reference.targetColumn, values: values)
            return try rows.map { row in
                guard let value = row[reference.column], let key = parents[value] else {
                    throw SyncError.unresolved(table: reference.targetTable, value: "\(row[reference.column] ?? .null)", from: entry.name)
                }
                return key
            }
        case .natural:
            var translated: [String: [SQLValue: WireKey]] = [:]
            for column in entry.key.columns {
                if let reference = entry.reference(on: column) {
                    translated[column] = try await wireKeys(table: reference.targetTable, column: reference.targetColumn,
                                                            values: Set(rows.compactMap { $0[column] }))
                }
            }
            return try rows.map { row in
                try entry.key.columns.map { column in
                    let value = row[column] ?? .null
                    guard let map = translated[column], !value.isNull else { return WireCoding.wire(value) }
                    guard let key = map[value] else {
                        throw SyncError.unresolved(table: entry.reference(on: column)!.targetTable, value: "\(value)", from: entry.name)
                    }
                    return .key(key)
                }
            }
        case .none:
            throw SyncError.noIdentity(entry.name)
        }
    }

    // MARK: typed values (person_attribute.value)

    private var formats: [String: String?] = [:]

    /// The table and column a typed value points into, given the row's local type reference.
    func typedTarget(_ entry: TableCatalog.Entry, typeValue: SQLValue) async throws -> (table: String, column: String)? {
        guard let typed = entry.typedValue, let typeReference = entry.reference(on: typed.typeColumn), !typeValue.isNull else { return nil }
        let cacheKey = "\(typeReference.targetTable).\(typeValue)"
        if formats[cacheKey] == nil {
            try await beforeLookup?()
            formats[cacheKey] = try await db.scalar("""
                SELECT \(ident: typed.formatColumn) FROM \(ident: typeReference.targetTable) WHERE \(ident: typeReference.targetColumn) = \(typeValue)
                """).string
        }
        guard let format = formats[cacheKey] ?? nil else { return nil }
        return typed.targets[format]
    }

    /// A local row's typed value as it travels: the target row's sync key when the type
    /// says the value is a row id and that row is found; otherwise the text as it is.
    public func wireTypedValue(_ entry: TableCatalog.Entry, row: [String: SQLValue]) async throws -> WireValue? {
        guard let typed = entry.typedValue, let value = row[typed.valueColumn], let id = value.int64,
              let target = try await typedTarget(entry, typeValue: row[typed.typeColumn] ?? .null) else { return nil }
        let targetKind = catalog[target.table]?.table.column(target.column)?.kind ?? .integer
        let local = targetKind.normalize(.integer(id))
        guard let key = try await wireKeys(table: target.table, column: target.column, values: [local])[local] else { return nil }
        return .key(key)
    }

    /// An incoming typed value back to the local row id, as text; nil when the row is not here.
    public func localTypedValue(_ entry: TableCatalog.Entry, row: [String: WireValue], key: WireKey) async throws -> SQLValue? {
        guard let typed = entry.typedValue, let typeReference = entry.reference(on: typed.typeColumn),
              case .key(let typeKey)? = row[typed.typeColumn],
              let localType = try await localValue(table: typeReference.targetTable, column: typeReference.targetColumn, key: typeKey),
              let target = try await typedTarget(entry, typeValue: localType) else { return nil }
        guard let value = try await localValue(table: target.table, column: target.column, key: key) else { return nil }
        return .text(value.string ?? "\(value)")
    }

    // MARK: wire → local

    /// Resolves many keys of `table` at once into the cache, so that the loader does not ask
    /// row by row (each question also forces the pending multi-row INSERT out). Keys not found
    /// are asked again when needed: the batch itself may write their rows. A `.parent`-keyed
    /// table (`patient` → `person`) is found through its parents' local ids.
    public func prefetch(table: String, column: String, keys: Set<WireKey>) async throws {
        guard let entry = catalog[table], entry.table.column(column) != nil else { return }
        let cacheKey = table + "." + column
        let wanted = keys.filter { incoming[cacheKey]?[$0] == nil }
        guard !wanted.isEmpty else { return }
        switch entry.key.kind {
        case .uuid:
            let uuids = wanted.compactMap { key -> String? in
                guard key.count == 1, case .string(let uuid) = key[0] else { return nil }
                return uuid
            }
            guard !uuids.isEmpty else { return }
            try await beforeLookup?()
            let columns = column == "uuid" ? ["uuid"] : ["uuid", column]
            for chunk in uuids.chunked(500) {
                let list = SQL.join(chunk.map { "\(key: .text($0))" }, separator: ", ")
                for row in try await db.query("SELECT \(idents: columns) FROM \(ident: table) WHERE uuid IN (\(list))") {
                    guard let uuid = row.string("uuid") else { continue }
                    incoming[cacheKey, default: [:]][[.string(uuid)]] = row[column]
                }
            }
        case .parent:
            let reference = try parentReference(entry)
            try await prefetch(table: reference.targetTable, column: reference.targetColumn, keys: wanted)
            let kind = entry.table.column(reference.column)?.kind ?? .integer
            var byParent: [SQLValue: WireKey] = [:]
            for key in wanted {
                if let parent = cached(table: reference.targetTable, column: reference.targetColumn, key: key), !parent.isNull {
                    byParent[kind.normalize(parent)] = key
                }
            }
            guard !byParent.isEmpty else { return }
            try await beforeLookup?()
            let columns = column == reference.column ? [column] : [reference.column, column]
            for chunk in Array(byParent.keys).chunked(500) {
                let list = SQL.join(chunk.map { "\(key: $0)" }, separator: ", ")
                for row in try await db.query("SELECT \(idents: columns) FROM \(ident: table) WHERE \(ident: reference.column) IN (\(list))") {
                    guard let key = byParent[kind.normalize(row[reference.column] ?? .null)] else { continue }
                    incoming[cacheKey, default: [:]][key] = row[column]
                }
            }
        case .natural, .none:
            return
        }
    }

    /// What the cache knows of a key's local value, without asking the database.
    func cached(table: String, column: String, key: WireKey) -> SQLValue? {
        incoming[table + "." + column]?[key]
    }

    /// The local key columns and values that locate the row with `key` (nil when a
    /// referenced parent is not here).
    public func localLocator(_ entry: TableCatalog.Entry, key: WireKey) async throws -> [(String, SQLValue)]? {
        switch entry.key.kind {
        case .uuid:
            guard key.count == 1 else { throw SyncError.badKey(table: entry.name, key: key) }
            return [("uuid", WireCoding.sqlValue(key[0], kind: .text))]
        case .parent:
            let reference = try parentReference(entry)
            guard let parent = try await localValue(table: reference.targetTable, column: reference.targetColumn, key: key) else { return nil }
            return [(reference.column, parent)]
        case .natural:
            guard key.count == entry.key.columns.count else { throw SyncError.badKey(table: entry.name, key: key) }
            var locator: [(String, SQLValue)] = []
            for (column, part) in zip(entry.key.columns, key) {
                if let reference = entry.reference(on: column), case .key(let target) = part {
                    guard let value = try await localValue(table: reference.targetTable, column: reference.targetColumn, key: target) else { return nil }
                    locator.append((column, value))
                } else {
                    locator.append((column, WireCoding.sqlValue(part, kind: entry.table.column(column)?.kind ?? .text)))
                }
            }
            return locator
        case .none:
            throw SyncError.noIdentity(entry.name)
        }
    }

    /// The local value of `column` in the row of `table` with `key`, or nil when no such row is here.
    public func localValue(table: String, column: String, key: WireKey) async throws -> SQLValue? {
        let cacheKey = table + "." + column
        if let cached = incoming[cacheKey]?[key] { return cached }
        let entry = try entry(table)
        if let written = batchKeys[table], written.count > 1, written.contains(key) {
            // A row the batch writes: those of its rows written by now, all in one question.
            // For uuid- and parent-keyed tables that question is the whole answer, and what it
            // did not find stays missing until the batch writes that table again (a cycle such
            // as person.creator → users asked once per person before).
            let settled = entry.key.kind == .uuid || entry.key.kind == .parent
            if settled, knownMissing[table]?.contains(key) == true { return nil }
            try await prefetch(table: table, column: column, keys: written)
            if let cached = incoming[cacheKey]?[key] { return cached }
            if settled {
                knownMissing[table] = written.filter { incoming[cacheKey]?[$0] == nil }
                return nil
            }
        }
        guard let locator = try await localLocator(entry, key: key) else { return nil }
        let value: SQLValue
        if let direct = locator.first(where: { $0.0 == column }) {
            // The value is part of the key itself; make sure the row exists.
            guard try await exists(entry, locator) else { return nil }
            value = direct.1
        } else {
            try await beforeLookup?()
            let rows = try await db.query("SELECT \(ident: column) FROM \(ident: table) WHERE \(Self.whereClause(locator))")
            guard let first = rows.first else { return nil }
            value = first[0]
        }
        incoming[cacheKey, default: [:]][key] = value
        return value
    }

    /// Some existing value of `table.column`: a stand-in for a NOT NULL reference whose row is
    /// written later in the same batch (`users.creator` naming its own row), fixed before commit.
    func placeholder(table: String, column: String) async throws -> SQLValue? {
        try await beforeLookup?()
        return try await db.query("SELECT \(ident: column) FROM \(ident: table) WHERE \(ident: column) IS NOT NULL LIMIT 1").first?[0]
    }

    func exists(_ entry: TableCatalog.Entry, _ locator: [(String, SQLValue)]) async throws -> Bool {
        try await beforeLookup?()
        return !(try await db.query("SELECT 1 FROM \(ident: entry.name) WHERE \(Self.whereClause(locator))")).isEmpty
    }

    /// Forgets what was learned about a row (it was deleted or its key changed).
    public func forget(table: String) {
        incoming = incoming.filter { !$0.key.hasPrefix(table + ".") }
        knownMissing[table] = nil
    }

    /// The batch is writing a row into `table`: rows found missing there may exist now.
    public func wrote(table: String) { knownMissing[table] = nil }

    static func whereClause(_ locator: [(String, SQLValue)]) -> SQL {
        SQL.join(locator.map { "\(ident: $0.0) = \(key: $0.1)" }, separator: " AND ")
    }
}

extension Array {
    func chunked(_ size: Int) -> [[Element]] {
        stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min($0 + size, count)]) }
    }
}
