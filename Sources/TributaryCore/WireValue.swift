/// A value as it travels between nodes: canonical JSON, the same whatever the dialect.
/// A foreign key travels as the referenced row's sync key (`.key`), never as a local id.
public enum WireValue: Sendable, Hashable, Codable, CustomStringConvertible {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case key([WireValue])

    public init(from decoder: Decoder) throws {
        if var array = try? decoder.unkeyedContainer() {
            var parts: [WireValue] = []
            while !array.isAtEnd { parts.append(try array.decode(WireValue.self)) }
            self = .key(parts)
            return
        }
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let v = try? container.decode(Bool.self) { self = .bool(v) }
        else if let v = try? container.decode(Int64.self) { self = .int(v) }
        else if let v = try? container.decode(Double.self) { self = .double(v) }
        else { self = .string(try container.decode(String.self)) }
    }

    public func encode(to encoder: Encoder) throws {
        switch self {
        case .key(let parts):
            var array = encoder.unkeyedContainer()
            for part in parts { try array.encode(part) }
        case .null:
            var c = encoder.singleValueContainer(); try c.encodeNil()
        case .bool(let v):
            var c = encoder.singleValueContainer(); try c.encode(v)
        case .int(let v):
            var c = encoder.singleValueContainer(); try c.encode(v)
        case .double(let v):
            var c = encoder.singleValueContainer(); try c.encode(v)
        case .string(let v):
            var c = encoder.singleValueContainer(); try c.encode(v)
        }
    }

    public var description: String {
        switch self {
        case .null: "null"
        case .bool(let v): String(v)
        case .int(let v): String(v)
        case .double(let v): String(v)
        case .string(let v): v
        case .key(let parts): "[" + parts.map(\.description).joined(separator: ",") + "]"
        }
    }
}

/// A row's identity at every site: the parts of its sync key (a uuid, or natural key parts).
public typealias WireKey = [WireValue]
