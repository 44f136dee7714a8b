/// One captured change as a line for people.
public enum ChangeReport {
    public static func line(_ change: CapturedChange) -> String {
        let key = change.key.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
        let uuid = (change.newRow ?? change.oldRow)?["uuid"].map { " uuid=\($0)" } ?? ""
        let source = change.sourceNode.map { " from \($0) (origin \(change.originNode ?? "?") at \(change.originTime))" } ?? " local"
        var changed = ""
        if change.operation == .update, let new = change.newRow, let old = change.oldRow {
            let columns = new.keys.filter { new[$0] != old[$0] }.sorted()
            changed = " changed: " + columns.joined(separator: ", ")
        }
        return "#\(change.changeID) \(change.capturedAt) \(change.operation) \(change.table)(\(key))\(uuid)\(source)\(changed)"
    }
}
