/// One value read from or written to a database, the same in every dialect.
///
/// Dates, datetimes and decimals travel as canonical text so that nothing is lost
/// between dialects: `YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS[.ffffff]`, and plain digits.
public enum SQLValue: Sendable, Hashable, CustomStringConvertible {
    case null
    case integer(Int64)
    case double(Double)
    case decimal(String)
    case text(String)
    case bytes([UInt8])
    case bool(Bool)
    case date(String)
    case datetime(String)

    public var isNull: Bool { self == .null }

    public var description: String {
        switch self {
        case .null: "NULL"
        case .integer(let v): String(v)
        case .double(let v): String(v)
        case .decimal(let v), .date(let v), .datetime(let v): v
        case .text(let v): "'\(v)'"
        case .bytes(let v): "x'" + v.map { String(format: "%02x", $0) }.joined() + "'"
        case .bool(let v): v ? "TRUE" : "FALSE"
        }
    }

    /// The value as an integer, when it is one (or integral text).
    public var int64: Int64? {
        switch self {
        case .integer(let v): v
        case .bool(let v): v ? 1 : 0
        case .double(let v): v.rounded() == v ? Int64(exactly: v) : nil
        case .text(let v), .decimal(let v): Int64(v)
        default: nil
        }
    }

    /// The value as a floating-point number, when it is a number (or numeric text).
    public var double: Double? {
        switch self {
        case .double(let v): v
        case .integer(let v): Double(v)
        case .decimal(let v), .text(let v): Double(v)
        default: nil
        }
    }

    /// The value as text, when it is text-like.
    public var string: String? {
        switch self {
        case .text(let v), .decimal(let v), .date(let v), .datetime(let v): v
        case .integer(let v): String(v)
        case .double(let v): String(v)
        default: nil
        }
    }
}

extension SQLValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByNilLiteral {
    public init(stringLiteral value: String) { self = .text(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(nilLiteral: ()) { self = .null }
}
