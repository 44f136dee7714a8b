import NIOCore
import PostgresNIO
import TributarySQL

/// A bind as postgres-nio sends it. Integers, doubles, booleans and bytes go typed
/// and binary; dates, datetimes and decimals go as text of unspecified type (OID 0)
/// so the server reads them with the type of the column they land in, as does text
/// compared with a key column (`untyped`, from `SQL`'s `key:`).
struct PostgresBind: PostgresDynamicTypeEncodable {
    let value: SQLValue
    var untyped = false

    var psqlType: PostgresDataType {
        switch value {
        case .integer: .int8
        case .double: .float8
        case .bool: .bool
        case .bytes: .bytea
        case .text: untyped ? PostgresDataType(0) : .text
        case .null, .decimal, .date, .datetime: PostgresDataType(0)
        }
    }

    var psqlFormat: PostgresFormat {
        switch value {
        case .integer, .double, .bool, .bytes: .binary
        default: .text
        }
    }

    func encode<JSONEncoder: PostgresJSONEncoder>(into buffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
        switch value {
        case .integer(let v): buffer.writeInteger(v)
        case .double(let v): buffer.writeInteger(v.bitPattern)
        case .bool(let v): buffer.writeInteger(UInt8(v ? 1 : 0))
        case .bytes(let v): buffer.writeBytes(v)
        case .text(let v), .decimal(let v), .date(let v), .datetime(let v): buffer.writeString(v)
        case .null: break
        }
    }
}

/// Turns a result cell (binary format) into a dialect-neutral value.
enum PostgresCellDecoder {
    static func decode(_ cell: PostgresCell) throws -> SQLValue {
        guard var bytes = cell.bytes else { return .null }
        if cell.format == .text { return .text(bytes.readString(length: bytes.readableBytes) ?? "") }
        switch cell.dataType.rawValue {
        case 16: return .bool(bytes.readInteger(as: UInt8.self) == 1)
        case 17: return .bytes(bytes.readBytes(length: bytes.readableBytes) ?? [])
        case 20: return .integer(bytes.readInteger(as: Int64.self) ?? 0)
        case 21: return .integer(Int64(bytes.readInteger(as: Int16.self) ?? 0))
        case 23: return .integer(Int64(bytes.readInteger(as: Int32.self) ?? 0))
        case 26, 28: return .integer(Int64(bytes.readInteger(as: UInt32.self) ?? 0))
        case 5069: return .integer(Int64(bitPattern: bytes.readInteger(as: UInt64.self) ?? 0))
        case 700: return .double(Double(Float(bitPattern: bytes.readInteger(as: UInt32.self) ?? 0)))
        case 701: return .double(Double(bitPattern: bytes.readInteger(as: UInt64.self) ?? 0))
        case 1700: return .decimal(try numeric(&bytes))
        case 1082: return .date(CivilTime.date(daysSince2000: Int64(bytes.readInteger(as: Int32.self) ?? 0)))
        case 1114, 1184: return .datetime(CivilTime.datetime(microsecondsSince2000: bytes.readInteger(as: Int64.self) ?? 0))
        case 1083: return .text(CivilTime.time(microseconds: bytes.readInteger(as: Int64.self) ?? 0))
        case 2950:
            let b = bytes.readBytes(length: 16) ?? []
            let hex = b.map { String(format: "%02x", $0) }.joined()
            let parts = [hex.prefix(8), hex.dropFirst(8).prefix(4), hex.dropFirst(12).prefix(4), hex.dropFirst(16).prefix(4), hex.dropFirst(20)]
            return .text(parts.joined(separator: "-"))
        case 3802:
            _ = bytes.readInteger(as: UInt8.self)  // jsonb version byte
            return .text(bytes.readString(length: bytes.readableBytes) ?? "")
        case 1042:
            // CHAR(n) comes padded; read it as MariaDB does (trailing spaces stripped), so a
            // sync key like OpenMRS's short uuid '1000' is the same string on every dialect.
            return .text(FixedChar.trim(bytes.readString(length: bytes.readableBytes) ?? ""))
        case 25, 1043, 19, 114, 18, 142:
            return .text(bytes.readString(length: bytes.readableBytes) ?? "")
        default:
            throw DatabaseError(.unsupported, "column \(cell.columnName) has PostgreSQL type \(cell.dataType) that Tributary does not read; cast it to text")
        }
    }

    /// PostgreSQL's binary NUMERIC: base-10000 digits with a weight and a display scale.
    static func numeric(_ bytes: inout ByteBuffer) throws -> String {
        guard let count = bytes.readInteger(as: Int16.self), let weight = bytes.readInteger(as: Int16.self),
              let sign = bytes.readInteger(as: UInt16.self), let scale = bytes.readInteger(as: Int16.self) else {
            throw DatabaseError(.statement, "malformed NUMERIC value")
        }
        if sign == 0xC000 { return "NaN" }
        var digits: [Int] = []
        for _ in 0..<Int(count) { digits.append(Int(bytes.readInteger(as: Int16.self) ?? 0)) }
        func group(_ index: Int) -> Int { index >= 0 && index < digits.count ? digits[index] : 0 }
        var integerPart = ""
        if weight >= 0 {
            for i in 0...Int(weight) {
                integerPart += i == 0 ? String(group(i)) : String(format: "%04d", group(i))
            }
        } else {
            integerPart = "0"
        }
        var fraction = ""
        var index = Int(weight) + 1
        while fraction.count < Int(scale) {
            fraction += String(format: "%04d", group(index))
            index += 1
        }
        fraction = String(fraction.prefix(Int(scale)))
        let text = fraction.isEmpty ? integerPart : integerPart + "." + fraction
        return sign == 0x4000 ? "-" + text : text
    }
}
