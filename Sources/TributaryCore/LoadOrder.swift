/// The order in which to send whole tables so that referenced rows come first. Tables in
/// a reference cycle (OpenMRS: users, person, concept, concept_class, concept_datatype)
/// cannot all come first: each cycle (strongly connected component) is sent as a unit
/// after everything it refers to, broken inside at the table with the fewest references
/// still unsent; the loader holds those references until their rows arrive. Given row
/// counts, a cycle is broken where the fewest rows wait: of users (a few rows) and person
/// (thousands), users goes first and only its few `person_id`s wait, not every creator.
public enum LoadOrder {
    /// `references[t]` is the set of tables `t` refers to (self-references are ignored);
    /// `sizes` are row counts, for the tables of cycles.
    public static func sorted(_ references: [String: Set<String>], sizes: [String: Int] = [:]) -> [String] {
        let tables = references.keys.sorted()
        let edges = references.mapValues { $0.filter { $0 != "" && references[$0] != nil } }
        var order: [String] = []
        for component in components(tables, edges) {  // referenced components first
            var remaining = Set(component)
            while !remaining.isEmpty {
                func unsent(_ table: String) -> Int {
                    let count = edges[table, default: []].filter { $0 != table && remaining.contains($0) }.count
                    return sizes.isEmpty ? count : count * max(1, sizes[table] ?? 1)
                }
                let next = remaining.min { (unsent($0), $0) < (unsent($1), $1) }!
                order.append(next)
                remaining.remove(next)
            }
        }
        return order
    }

    /// The tables that are part of a reference cycle.
    public static func cyclic(_ references: [String: Set<String>]) -> Set<String> {
        let edges = references.mapValues { $0.filter { $0 != "" && references[$0] != nil } }
        return Set(components(references.keys.sorted(), edges).filter { $0.count > 1 }.joined())
    }

    /// Tarjan's strongly connected components; each comes after the components it refers to.
    static func components(_ tables: [String], _ edges: [String: Set<String>]) -> [[String]] {
        var index = 0
        var indices: [String: Int] = [:], lowlinks: [String: Int] = [:]
        var stack: [String] = [], onStack = Set<String>()
        var result: [[String]] = []
        func connect(_ table: String) {
            indices[table] = index; lowlinks[table] = index; index += 1
            stack.append(table); onStack.insert(table)
            for next in edges[table, default: []].sorted() where next != table {
                if indices[next] == nil {
                    connect(next)
                    lowlinks[table] = min(lowlinks[table]!, lowlinks[next]!)
                } else if onStack.contains(next) {
                    lowlinks[table] = min(lowlinks[table]!, indices[next]!)
                }
            }
            if lowlinks[table] == indices[table] {
                var component: [String] = []
                while let top = stack.popLast() {
                    onStack.remove(top)
                    component.append(top)
                    if top == table { break }
                }
                result.append(component.sorted())
            }
        }
        for table in tables where indices[table] == nil { connect(table) }
        return result
    }
}

extension LoadOrder {
    /// A rank per table: tables a table refers to rank lower; the tables of one cycle share a rank.
    public static func ranks(_ references: [String: Set<String>]) -> [String: Int] {
        let edges = references.mapValues { $0.filter { $0 != "" && references[$0] != nil } }
        var ranks: [String: Int] = [:]
        for (rank, component) in components(references.keys.sorted(), edges).enumerated() {
            for table in component { ranks[table] = rank }
        }
        return ranks
    }

    /// Within each run of consecutive inserts, the rows of referenced tables first (a stable
    /// sort by rank): a change log interleaves tables row by row (person, patient, visit,
    /// encounter, obs… for each patient), and written in that order every row would wait for
    /// the one before it. Inserts of different rows commute, so nothing else changes; updates
    /// and deletes stay where they are and end a run. Tables without a rank keep their place
    /// relative to each other, after the ranked ones.
    public static func arrangeInserts(_ changes: [WireChange], ranks: [String: Int]) -> [WireChange] {
        var result: [WireChange] = []
        result.reserveCapacity(changes.count)
        var run: [WireChange] = []
        func close() {
            let order = run.indices.sorted { (ranks[run[$0].table] ?? Int.max, $0) < (ranks[run[$1].table] ?? Int.max, $1) }
            result.append(contentsOf: order.map { run[$0] })
            run.removeAll(keepingCapacity: true)
        }
        for change in changes {
            if change.operation == .insert, !change.forced {
                run.append(change)
            } else {
                close()
                result.append(change)
            }
        }
        close()
        return result
    }
}
