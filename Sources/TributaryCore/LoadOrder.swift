/// The order in which to send whole tables so that referenced rows come first. Tables in
/// a reference cycle (OpenMRS: users, person, concept, concept_class, concept_datatype)
/// cannot all come first; the cycle is broken at the table with the fewest references
/// still unsent, and the loader holds those references until their rows arrive.
public enum LoadOrder {
    /// `references[t]` is the set of tables `t` refers to (self-references are ignored).
    public static func sorted(_ references: [String: Set<String>]) -> [String] {
        var remaining = Set(references.keys)
        var order: [String] = []
        func unsent(_ table: String) -> Int {
            references[table, default: []].filter { $0 != table && remaining.contains($0) }.count
        }
        while !remaining.isEmpty {
            let ready = remaining.filter { unsent($0) == 0 }.sorted()
            if !ready.isEmpty {
                order.append(contentsOf: ready)
                remaining.subtract(ready)
                continue
            }
            // A cycle: the table waiting on the fewest others goes next, ties by name.
            let next = remaining.min { (unsent($0), $0) < (unsent($1), $1) }!
            order.append(next)
            remaining.remove(next)
        }
        return order
    }
}
