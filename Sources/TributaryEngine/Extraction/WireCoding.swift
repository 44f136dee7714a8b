import Foundation
import TributaryCore
import TributarySQL

/// Converts values between the trigger's JSON images, the database and the wire,
/// guided by the column's kind so that every dialect's spelling meets in one form.
public enum WireCoding {
    /// A value from a captured image (MariaDB writes booleans as 0/1 and binary as hex,
    /// PostgreSQL writes `T` in datetimes and `\x` before hex): the same rules as the
    /// wire, but for binary, which triggers write as hex and the wire carries as base64.
    public static func sqlValue(_ image: ImageValue, kind: ColumnKind) -> SQLValue {
        switch image {
        case .null: return .null
        case .bool(let v): return sqlValue(WireValue.bool(v), kind: kind)
        case .integer(let v): return sqlValue(WireValue.int(v), kind: kind)
        case .number(let v): return sqlValue(WireValue.double(v), kind: kind)
        case .string(let s): return kind == .binary ? .bytes(hexBytes(s)) : sqlValue(WireValue.string(s), kind: kind)
        }
    }

    public static func wire(_ value: SQLValue) -> WireValue {
        switch value {
        case .null: .null
        case .bool(let v): .bool(v)
        case .integer(let v): .int(v)
        case .double(let v): .double(v)
        case .decimal(let v), .text(let v), .date(let v), .datetime(let v): .string(v)
        case .bytes(let v): .string(Data(v).base64EncodedString())
        }
    }

    /// A wire value as the local column wants it bound.
    public static func sqlValue(_ wire: WireValue, kind: ColumnKind) -> SQLValue {
        switch wire {
        case .null, .key: return .null
        case .bool(let v):
            return kind == .boolean ? .bool(v) : .integer(v ? 1 : 0)
        case .int(let v):
            switch kind {
            case .boolean: return .bool(v != 0)
            case .double: return .double(Double(v))
            case .decimal: return .decimal(String(v))
            case .text: return .text(String(v))
            default: return .integer(v)
            }
        case .double(let v):
            switch kind {
            case .decimal: return ColumnKind.decimal.normalize(.double(v))
            case .integer: return .integer(Int64(v))
            case .text: return .text(String(v))
            default: return .double(v)
            }
        case .string(let s):
            switch kind {
            case .binary: return .bytes(Array(Data(base64Encoded: s) ?? Data()))
            case .date, .datetime, .decimal: return kind.normalize(.text(s))
            case .integer: return Int64(s).map(SQLValue.integer) ?? .text(s)
            case .double: return Double(s).map(SQLValue.double) ?? .text(s)
            case .boolean: return .bool(s == "1" || s.lowercased() == "true" || s == "t")
            default: return .text(s)
            }
        }
    }

    static func hexBytes(_ text: String) -> [UInt8] {
        var s = Substring(text)
        if s.hasPrefix("\\x") { s = s.dropFirst(2) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(s.count / 2)
        var index = s.startIndex
        while index < s.endIndex, let next = s.index(index, offsetBy: 2, limitedBy: s.endIndex) {
            if let byte = UInt8(s[index..<next], radix: 16) { bytes.append(byte) }
            index = next
        }
        return bytes
    }
}
