import Logging
import TributaryCore
import TributarySQL

/// Applies an incoming batch in one transaction: sync keys become local rows, references
/// become local ids, what points forward in the batch is fixed up before commit, and the
/// batch is recorded so that a second delivery is acknowledged without being applied.
public struct Loader: Sendable {
    let database: any Database
    let catalog: TableCatalog
    let dialect: any CaptureDialect
    let logger: Logger
    /// This node: the origin of changes captured here without one.
    let localNode: NodeID
    let localDepth: Int?
    /// Counts the rows copied as a replica session (`ReplicaCopy`); nil where that is not allowed.
    let replicaRows: Locked<Int>?

    init(database: any Database, catalog: TableCatalog, localNode: NodeID, localDepth: Int? = nil,
         replicaRows: Locked<Int>? = nil, logger: Logger = Logger(label: "tributary.loader")) {
        self.localNode = localNode
        self.replicaRows = replicaRows
        self.localDepth = localDepth
        self.database = database
        self.catalog = catalog
        self.dialect = CaptureDialects.dialect(for: database.syntax)
        self.logger = logger
    }

    /// A reference to a row not (yet) here (NULL or a stand-in until then), set once the batch's other rows are written.
    struct FixUp {
        let table: String
        let key: WireKey
        let locator: [(String, SQLValue)]
        let column: String
        let reference: Reference
        let target: WireKey
        /// From a snapshot: when its row is not in this batch either, it waits for a later one.
        let mayWait: Bool
    }

    /// Which change is being applied, for the failure message.
    final class Progress: @unchecked Sendable {
        var change: WireChange?
        var warnings: [String] = []
        var source = NodeID("")
        /// The keys of the rows this batch writes, by table: a reference to one of them is not missing, only early.
        var incoming: [String: Set<WireKey>] = [:]
        /// Snapshot rows from a child add what is missing here and leave existing rows alone.
        var snapshotsOverwrite = true
        /// The depths of the origin nodes known here (parent-/child-wins).
        var depths: [String: Int] = [:]
        /// Stamps still to be written for rows this batch wrote (see `StampFixes`).
        var stamps: StampFixes?
        /// Rows of this batch left out because a row they need was deleted here (`DeletedReferences`).
        var removed: [String: Set<WireKey>] = [:]
    }

    /// `fromParent`: snapshot rows overwrite rows here (the parent's tables win at joining);
    /// from a child they only add rows (what the child alone holds).
    public func apply(_ batch: Batch, fromParent: Bool = true) async -> Ack {
        let header = batch.header
        let changes = LoadOrder.arrangeInserts(batch.changes, ranks: catalog.loadRanks)
        let progress = Progress()
        progress.snapshotsOverwrite = fromParent
        progress.source = header.source
        for change in batch.changes where change.operation != .delete { progress.incoming[change.table, default: []].insert(change.key) }
        do {
            let outcome: (applied: Int, duplicate: Bool) = try await database.transaction { tx in
                let seen = try await tx.query("SELECT 1 FROM tributary_incoming_batch WHERE source_node = \(header.source.rawValue) AND batch_id = \(header.batchID)")
                if !seen.isEmpty { return (0, true) }
                if tx.syntax == .postgres {
                    // Every lookup here is by a key. Below about 100,000 rows PostgreSQL costed
                    // a 500-uuid lookup above a whole scan, and scanned obs for each batch of a
                    // burst (4 ms at 22,000 rows, growing with the table; 147 times in the sync
                    // benchmark) where the index answers in well under 1 ms. Without JIT: a scan
                    // so costed (a table without the index, of a few rows) was compiled, 120 ms.
                    try await tx.execute("SET LOCAL enable_seqscan = off")
                    try await tx.execute("SET LOCAL jit = off")
                }
                let stampsAhead = tx.syntax == .postgres ? try await Self.stampTableReady(tx) : false
                let resolver = KeyResolver(db: tx, catalog: catalog)
                let buffer = InsertBuffer()
                resolver.beforeLookup = { try await buffer.flush(tx) }
                buffer.onAdd = { [weak resolver] in resolver?.wrote(table: $0) }  // weak: the resolver holds the buffer already
                resolver.batchKeys = progress.incoming
                try await Self.prefetchReferences(batch.changes, catalog: catalog, resolver: resolver)
                var present = try await Self.presentKeys(batch.changes, catalog: catalog, resolver: resolver)
                progress.depths = try await OriginDepths.read(tx)
                try await OriginDepths.record(batch.changes, known: &progress.depths, tx: tx)
                var fixUps: [FixUp] = []
                var mark: (String, String)?
                let stamps = StampFixes(dialect: dialect, source: header.source.rawValue,
                                        after: try await tx.scalar("SELECT MAX(change_id) FROM tributary_change").int64 ?? 0)
                progress.stamps = stamps
                if tx.syntax == .postgres {
                    buffer.writer = Self.postgresWriter(catalog: catalog, stamps: stampsAhead ? stamps : nil,
                                                        replica: replicaRows.map { ReplicaCopy(counter: $0) })
                }
                for change in changes {
                    progress.change = change
                    let stampKey = Self.stampKey(of: change, catalog, resolver)
                    if let stampKey, stamps.isPending(change.table, stampKey.value) {
                        // The row's earlier change is about to be read or changed again: its stamp first.
                        try await buffer.flush(tx)
                        try await stamps.flush(tx)
                    }
                    let firstTouch = stampKey.map { stamps.touch(change.table, $0.value) } ?? false
                    if mark == nil || mark! != (change.originNode.rawValue, change.originTime) {
                        // Only for a new row: a change to an existing row may first be checked for a
                        // conflict, which writes the waiting stamps before this change is written.
                        if mark != nil, firstTouch, !change.forced, let stampKey, change.operation == .insert,
                           present[change.table]?.contains(change.key) == false {
                            stamps.add(change.table, match: stampKey.match, value: stampKey.value, node: change.originNode.rawValue, time: change.originTime)
                        } else {
                            try await buffer.flush(tx)
                            for statement in dialect.markLoader(source: header.source.rawValue, originNode: change.originNode.rawValue, originTime: change.originTime) {
                                _ = try await tx.query(statement)
                            }
                            mark = (change.originNode.rawValue, change.originTime)
                        }
                    }
                    if change.forced {
                        try await applyForced(change, tx: tx, resolver: resolver, buffer: buffer, present: &present, fixUps: &fixUps, progress: progress)
                    } else {
                        try await applyChange(change, tx: tx, resolver: resolver, buffer: buffer, present: &present, fixUps: &fixUps, progress: progress)
                    }
                }
                progress.change = nil
                try await buffer.flush(tx)
                for fixUp in fixUps where progress.removed[fixUp.table]?.contains(fixUp.key) != true {
                    guard let value = try await resolver.localValue(table: fixUp.reference.targetTable, column: fixUp.reference.targetColumn, key: fixUp.target) else {
                        if fixUp.mayWait {
                            try await PendingReferences.hold(fixUp, source: header.source, tx: tx)
                            continue
                        }
                        if try await targetDeleted(fixUp.reference.targetTable, fixUp.target, progress: progress, tx: tx), let change = batch.changes.last(where: { $0.table == fixUp.table && $0.key == fixUp.key }),
                           let entry = catalog[fixUp.table] {
                            // Deleted here while the row was on its way: the reference stays cleared.
                            try await conflictCheck(entry, change, progress: progress, tx: tx)
                                .recordDeletedTarget(column: fixUp.column, target: fixUp.reference.targetTable, targetKey: fixUp.target, removed: false)
                            continue
                        }
                        throw SyncError.missingReference(table: fixUp.table, key: fixUp.key, column: fixUp.column,
                                                         target: fixUp.reference.targetTable, targetKey: fixUp.target)
                    }
                    try await tx.execute("UPDATE \(ident: fixUp.table) SET \(ident: fixUp.column) = \(value) WHERE \(KeyResolver.whereClause(fixUp.locator))")
                }
                try await stamps.flush(tx)
                try await PendingReferences.resolve(catalog: catalog, resolver: resolver, tx: tx)
                for statement in dialect.clearLoader() { try await tx.execute(statement) }
                try await tx.execute("UPDATE tributary_incoming_error SET resolved = \(true) WHERE source_node = \(header.source.rawValue) AND batch_id = \(header.batchID)")
                try await tx.execute("""
                    INSERT INTO tributary_incoming_batch (source_node, batch_id, channel, change_count, applied_at)
                    VALUES (\(header.source.rawValue), \(header.batchID), \(header.channel), \(batch.changes.count), \(SQLValue.datetime(Clock.nowText())))
                    """)
                return (batch.changes.count, false)
            }
            for warning in progress.warnings { logger.warning("\(warning)", metadata: ["batch": "\(header.batchID)", "source": "\(header.source)"]) }
            return Ack(batchID: header.batchID, status: .applied, applied: outcome.applied, duplicate: outcome.duplicate, warnings: progress.warnings)
        } catch {
            // MySQL session variables outlive a rolled-back transaction.
            for statement in dialect.clearLoader() { _ = try? await database.execute(statement) }
            return await Self.failed(header, Self.failure(error, change: progress.change), database: database, logger: logger)
        }
    }

    /// A batch not applied: logged and recorded (`status`), and the sender told why.
    static func failed(_ header: BatchHeader, _ failure: Ack.Failure, database: any Database, logger: Logger) async -> Ack {
        let now = SQLValue.datetime(Clock.nowText())
        // The same failure again only counts; a different one (the row was fixed, another fails) is a row of its own.
        let counted = (try? await database.execute("""
            UPDATE tributary_incoming_error SET attempts = attempts + 1, last_seen = \(now)
            WHERE source_node = \(header.source.rawValue) AND batch_id = \(header.batchID) AND cause = \(failure.cause) AND resolved = \(false)
            """)) ?? 0
        if counted == 0 {
            logger.error("batch failed", metadata: ["batch": "\(header.batchID)", "source": "\(header.source)", "cause": "\(failure.cause)"])
            _ = try? await database.execute("""
                INSERT INTO tributary_incoming_error (source_node, batch_id, channel, table_name, sync_key, cause, occurred_at, last_seen)
                VALUES (\(header.source.rawValue), \(header.batchID), \(header.channel), \(failure.table), \(failure.key), \(failure.cause), \(now), \(now))
                """)
        } else {
            logger.warning("batch failed again", metadata: ["batch": "\(header.batchID)", "source": "\(header.source)", "cause": "\(failure.cause)"])
        }
        return Ack(batchID: header.batchID, status: .failed, failure: failure)
    }

    /// How a PostgreSQL loader writes a run of new rows: their stamps handed to the insert
    /// trigger first, then the rows as a replica session where allowed (`ReplicaCopy`).
    static func postgresWriter(catalog: TableCatalog, stamps: StampFixes?, replica: ReplicaCopy?)
        -> (String, [String], [[SQLValue]], any SQLExecutor) async throws -> Bool {
        { table, columns, rows, tx in
            guard let entry = catalog[table] else { return false }
            let stamped = try await stamps?.writeAhead(entry.table, keyColumns: Capture.recordedKey(entry), columns: columns, rows: rows, tx: tx) ?? false
            if try await replica?.write(entry.table, columns: columns, rows: rows, tx: tx) != true {
                try await tx.insertRows(into: table, columns: columns, rows: rows)
            }
            if stamped { try await StampFixes.clearAhead(tx) }
            return true
        }
    }

    /// Creates the session's stamp table and tells the insert triggers to read it; false,
    /// and the stamps are fixed afterwards as on the other databases, where the role may not
    /// create temporary tables.
    static func stampTableReady(_ tx: any SQLExecutor) async throws -> Bool {
        try await tx.execute("SAVEPOINT tributary_stamps")
        do {
            try await tx.execute(PostgresCapture.stampTable)
            _ = try await tx.query("SELECT set_config('tributary.stamps', 'on', true)")
            try await tx.execute("RELEASE SAVEPOINT tributary_stamps")
            return true
        } catch {
            try await tx.execute("ROLLBACK TO SAVEPOINT tributary_stamps")
            return false
        }
    }

    static func failure(_ error: any Error, change: WireChange?) -> Ack.Failure {
        if let sync = error as? SyncError {
            return Ack.Failure(table: sync.table ?? change?.table, key: sync.key ?? change.map { WireValue.key($0.key).description }, cause: sync.description)
        }
        return Ack.Failure(table: change?.table, key: change.map { WireValue.key($0.key).description },
                           cause: change.map { "\($0.operation) \($0.table) \(WireValue.key($0.key)): \(error)" } ?? "\(error)")
    }

    /// The local ids of every row the batch refers to that is here already, read in bulk per
    /// referenced table before the first change is applied.
    static func prefetchReferences(_ changes: [WireChange], catalog: TableCatalog, resolver: KeyResolver) async throws {
        var wanted: [String: (table: String, column: String, keys: Set<WireKey>)] = [:]
        for change in changes where change.operation != .delete {
            guard let entry = catalog[change.table], let row = change.row else { continue }
            for reference in entry.references {
                guard case .key(let target)? = row[reference.column] else { continue }
                let id = reference.targetTable + "." + reference.targetColumn
                wanted[id, default: (reference.targetTable, reference.targetColumn, [])].keys.insert(target)
            }
        }
        for (_, want) in wanted.sorted(by: { $0.key < $1.key }) {
            try await resolver.prefetch(table: want.table, column: want.column, keys: want.keys)
        }
    }

    /// How the stamp fix will find the change's row (see `StampFixes`): its uuid, or for a
    /// parent-keyed row its local key when the parent is known here already; nil otherwise
    /// (the loader then marks its session for the change instead).
    static func stampKey(of change: WireChange, _ catalog: TableCatalog, _ resolver: KeyResolver) -> (match: StampMatch, value: String)? {
        guard let entry = catalog[change.table] else { return nil }
        switch entry.key.kind {
        case .uuid:
            guard change.key.count == 1, case .string(let uuid) = change.key[0] else { return nil }
            return (.uuid, uuid)
        case .parent:
            guard let reference = try? resolver.parentReference(entry), Capture.recordedKey(entry) == [reference.column],
                  let local = resolver.cached(table: reference.targetTable, column: reference.targetColumn, key: change.key),
                  let id = local.int64 else { return nil }
            return (.keyColumn(reference.column), String(id))
        case .natural, .none:
            return nil
        }
    }

    /// The keys of a batch's rows that are already here, read in bulk per table through the
    /// resolver (uuid-keyed tables by uuid, `.parent`-keyed ones through their parents), so
    /// that each change does not ask on its own.
    static func presentKeys(_ changes: [WireChange], catalog: TableCatalog, resolver: KeyResolver) async throws -> [String: Set<WireKey>] {
        var wanted: [String: (column: String, keys: Set<WireKey>)] = [:]
        for change in changes {
            guard let entry = catalog[change.table] else { continue }
            let column: String
            switch entry.key.kind {
            case .uuid: column = "uuid"
            case .parent: column = try resolver.parentReference(entry).column
            case .natural, .none: continue
            }
            wanted[entry.name, default: (column, [])].keys.insert(change.key)
        }
        var present: [String: Set<WireKey>] = [:]
        for (table, want) in wanted {
            try await resolver.prefetch(table: table, column: want.column, keys: want.keys)
            present[table] = want.keys.filter { resolver.cached(table: table, column: want.column, key: $0) != nil }
        }
        return present
    }

    func applyChange(_ change: WireChange, tx: any SQLExecutor, resolver: KeyResolver, buffer: InsertBuffer,
                     present: inout [String: Set<WireKey>], fixUps: inout [FixUp], progress: Progress) async throws {
        guard let entry = catalog[change.table] else { throw SyncError.unknownTable(change.table) }
        if !entry.setting.enabled, entry.key.kind != .none {
            // Disabled by the root while the change was on its way: it stops here, the batch goes on.
            progress.warnings.append("\(entry.name) is disabled here; a change to it was skipped")
            return
        }
        guard entry.syncs else { throw SyncError.notEnabled(change.table) }
        guard let locator = try await resolver.localLocator(entry, key: change.key) else {
            if change.operation == .delete { return }  // its parent is gone, so is it
            throw SyncError.missingParent(table: entry.name, key: change.key)
        }
        let uuid: String? = entry.key.kind == .uuid ? change.key.first.flatMap { if case .string(let u) = $0 { u } else { nil } } : nil
        let exists: Bool
        if let known = present[entry.name] { exists = known.contains(change.key) } else { exists = try await resolver.exists(entry, locator) }
        if change.operation == .delete {
            if exists, !change.forced, let old = change.old {
                try await buffer.flush(tx)
                let before = try await localValues(entry, old, resolver: resolver)
                if try await conflictCheck(entry, change, progress: progress, tx: tx).deleteLoses(locator: locator, old: before) { return }
            }
            if exists {
                try await buffer.flush(tx)
                try await deleteReleasing(entry, locator: locator, change: change, resolver: resolver, progress: progress, tx: tx)
            }
            present[entry.name]?.remove(change.key)
            resolver.forget(table: entry.name)
            return
        }
        guard let row = change.row else { throw SyncError.protocolError("\(change.operation) of \(entry.name) \(WireValue.key(change.key)) carries no row") }
        if exists, change.load, !progress.snapshotsOverwrite { return }
        if !exists, change.operation == .update, !change.forced, !change.load {
            try await buffer.flush(tx)
            guard try await conflictCheck(entry, change, progress: progress, tx: tx).updateOfMissingApplies(uuid: uuid, locator: locator) else { return }
        }
        // An update to a row that is here writes only the columns the change touched
        // (a person's decision writes every column it carries).
        var touched: Set<String>?
        if exists, change.operation == .update, !change.forced, let old = change.old {
            touched = Set(row.keys.filter { row[$0] != old[$0] })
        }
        var assignments: [(String, SQLValue)] = []
        // In the local schema's column order (sorting each row's names showed in profiles);
        // what the row carries that this schema lacks is ignored with a warning.
        var carried = 0
        for schema in entry.table.columns {
            let column = schema.name
            guard let wire = row[column] else { continue }
            carried += 1
            if let touched, !touched.contains(column) { continue }
            if let typed = entry.typedValue, column == typed.valueColumn, case .key(let target) = wire {
                guard let value = try await resolver.localTypedValue(entry, row: row, key: target) else {
                    throw SyncError.missingReference(table: entry.name, key: change.key, column: column, target: "the row its type names", targetKey: target)
                }
                assignments.append((column, value))
                continue
            }
            guard let reference = entry.reference(on: column) else {
                if schema.autoIncrement { continue }
                assignments.append((column, WireCoding.sqlValue(wire, kind: schema.kind)))
                continue
            }
            guard case .key(let target) = wire else {
                if wire == .null { assignments.append((column, .null)); continue }
                throw SyncError.badKey(table: entry.name, key: change.key)
            }
            if let value = try await resolver.localValue(table: reference.targetTable, column: reference.targetColumn, key: target) {
                assignments.append((column, value))
            } else if schema.nullable {
                assignments.append((column, .null))
                fixUps.append(FixUp(table: entry.name, key: change.key, locator: locator, column: column, reference: reference, target: target, mayWait: change.load))
            } else if change.load || progress.incoming[reference.targetTable]?.contains(target) == true,
                      let standIn = try await resolver.placeholder(table: reference.targetTable, column: reference.targetColumn) {
                // NOT NULL: point at any existing row for now; the fix-up fails the batch if the real one never comes.
                assignments.append((column, standIn))
                fixUps.append(FixUp(table: entry.name, key: change.key, locator: locator, column: column, reference: reference, target: target, mayWait: change.load))
            } else if try await targetDeleted(reference.targetTable, target, progress: progress, tx: tx) {
                // NOT NULL and deleted here while this row was on its way: the row goes too, as it does where the delete arrives.
                try await removeForDeletedTarget(entry, change, locator: locator, exists: exists, column: column, reference: reference, target: target,
                                                 resolver: resolver, buffer: buffer, present: &present, fixUps: &fixUps, progress: progress, tx: tx)
                return
            } else {
                throw SyncError.missingReference(table: entry.name, key: change.key, column: column, target: reference.targetTable, targetKey: target)
            }
        }
        if carried < row.count {
            for column in row.keys.sorted() where entry.table.column(column) == nil {
                progress.warnings.append("\(entry.name).\(column) does not exist here; its value was ignored")
            }
        }
        if exists, !change.forced, !change.load, !assignments.isEmpty, change.operation == .insert || change.old != nil {
            let losing = try await checkConflict(entry, locator: locator, change: change, old: change.old, assignments: assignments,
                                                 resolver: resolver, buffer: buffer, tx: tx, progress: progress)
            assignments.removeAll { losing.contains($0.0) }
        }
        if exists {
            guard !assignments.isEmpty else { return }
            try await buffer.flush(tx)
            let sets = SQL.join(assignments.map { "\(ident: $0.0) = \($0.1)" }, separator: ", ")
            try await tx.execute("UPDATE \(ident: entry.name) SET \(sets) WHERE \(KeyResolver.whereClause(locator))")
        } else if let twin = try await Merging.localTwin(entry, assignments: assignments, resolver: resolver, tx: tx) {
            // The same thing under another sync key (a role's name, a stop word): the local row
            // takes the incoming key and values; references to it follow, being local ids.
            try await buffer.flush(tx)
            var sets = assignments
            for (column, value) in locator where !sets.contains(where: { $0.0 == column }) { sets.append((column, value)) }
            try await tx.execute("UPDATE \(ident: entry.name) SET \(SQL.join(sets.map { "\(ident: $0.0) = \($0.1)" }, separator: ", ")) WHERE \(KeyResolver.whereClause(twin))")
            resolver.forget(table: entry.name)
            present[entry.name]?.insert(change.key)
        } else {
            var columns = assignments
            for (column, value) in locator where !columns.contains(where: { $0.0 == column }) { columns.append((column, value)) }
            try await buffer.add(entry.name, columns: columns.map(\.0), values: columns.map(\.1), tx: tx)
            present[entry.name]?.insert(change.key)
        }
    }

    func conflictCheck(_ entry: TableCatalog.Entry, _ change: WireChange, progress: Progress, tx: any SQLExecutor) async throws -> ConflictCheck {
        try await progress.stamps?.flush(tx)
        return ConflictCheck(entry: entry, change: change, source: progress.source, local: (localNode, localDepth), depths: progress.depths, tx: tx)
    }

    /// A wire image as local values, for comparing with the row here. A reference whose old
    /// target is gone cannot be compared and is left out, as is a typed value.
    func localValues(_ entry: TableCatalog.Entry, _ image: [String: WireValue], resolver: KeyResolver) async throws -> [String: SQLValue] {
        var result: [String: SQLValue] = [:]
        for (column, wire) in image {
            guard let schema = entry.table.column(column), !schema.autoIncrement else { continue }
            if let typed = entry.typedValue, typed.valueColumn == column { continue }
            if let reference = entry.reference(on: column) {
                switch wire {
                case .null: result[column] = .null
                case .key(let target):
                    guard let local = try await resolver.localValue(table: reference.targetTable, column: reference.targetColumn, key: target) else { continue }
                    result[column] = local
                default: continue
                }
            } else {
                result[column] = WireCoding.sqlValue(wire, kind: schema.kind)
            }
        }
        return result
    }

    /// The columns of an update or insert that lose to the version here (see `ConflictCheck`).
    func checkConflict(_ entry: TableCatalog.Entry, locator: [(String, SQLValue)], change: WireChange, old: [String: WireValue]?,
                       assignments: [(String, SQLValue)], resolver: KeyResolver, buffer: InsertBuffer, tx: any SQLExecutor,
                       progress: Progress) async throws -> Set<String> {
        try await buffer.flush(tx)
        var before: [String: SQLValue]?
        if let old { before = try await localValues(entry, old, resolver: resolver) }
        var incoming: [String: SQLValue] = [:]
        for (column, value) in assignments {
            if let typed = entry.typedValue, typed.valueColumn == column { continue }
            // An update's column whose old value cannot be compared is not checked.
            if let before, before[column] == nil { continue }
            incoming[column] = value
        }
        return try await conflictCheck(entry, change, progress: progress, tx: tx).losingColumns(locator: locator, incoming: incoming, old: before)
    }
}
