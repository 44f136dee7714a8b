import TributaryCore

/// Why a change could not be extracted or applied; always names the table and key.
public enum SyncError: Error, CustomStringConvertible, Sendable {
    case unknownTable(String)
    case noIdentity(String)
    case badKey(table: String, key: WireKey)
    case unresolved(table: String, value: String, from: String)
    case missingReference(table: String, key: WireKey, column: String, target: String, targetKey: WireKey)
    case missingParent(table: String, key: WireKey)
    case notEnabled(String)
    case protocolError(String)
    /// A delete that would leave a row here without a NOT NULL reference it needs, in a table
    /// whose rows are not removed for it (see `DeletedReferences`).
    case stillReferenced(table: String, by: String, column: String)

    public var description: String {
        switch self {
        case .unknownTable(let t): "table '\(t)' does not exist here"
        case .noIdentity(let t): "table '\(t)' has no stable identity"
        case .badKey(let t, let k): "malformed sync key \(WireValue.key(k)) for table '\(t)'"
        case .unresolved(let t, let v, let from): "\(from) references \(t) row \(v), which is neither in \(t) nor in the change log"
        case .missingReference(let t, let k, let c, let target, let tk):
            "\(t) \(WireValue.key(k)): \(c) references \(target) \(WireValue.key(tk)), which does not exist here"
        case .missingParent(let t, let k): "\(t) \(WireValue.key(k)): its parent row does not exist here"
        case .notEnabled(let t): "table '\(t)' is not enabled for sync here"
        case .protocolError(let m): m
        case .stillReferenced(let t, let by, let c):
            "cannot delete the \(t) row: \(by) still refers to it here (\(c), NOT NULL), and such rows are not removed for a delete made elsewhere; a person decides"
        }
    }

    /// The table the error is about, for an ack's failure.
    public var table: String? {
        switch self {
        case .unknownTable(let t), .noIdentity(let t), .notEnabled(let t): t
        case .badKey(let t, _), .missingParent(let t, _): t
        case .unresolved(_, _, let from): from
        case .missingReference(let t, _, _, _, _): t
        case .protocolError: nil
        case .stillReferenced(let t, _, _): t
        }
    }

    public var key: String? {
        switch self {
        case .badKey(_, let k), .missingParent(_, let k), .missingReference(_, let k, _, _, _): WireValue.key(k).description
        default: nil
        }
    }
}
