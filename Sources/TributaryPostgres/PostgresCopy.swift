import NIOCore
import PostgresNIO
import TributarySQL

/// Rows in COPY's text format: tab between values, newline after each row, `\N` for NULL,
/// and backslash, tab, newline and carriage return escaped inside values.
enum PostgresCopyText {
    static func append(_ rows: [[SQLValue]], to buffer: inout ByteBuffer) {
        for row in rows {
            for (i, value) in row.enumerated() {
                if i > 0 { buffer.writeInteger(UInt8(ascii: "\t")) }
                append(value, to: &buffer)
            }
            buffer.writeInteger(UInt8(ascii: "\n"))
        }
    }

    static func append(_ value: SQLValue, to buffer: inout ByteBuffer) {
        switch value {
        case .null: buffer.writeStaticString("\\N")
        case .integer(let v): buffer.writeString(String(v))
        case .double(let v):
            if v.isNaN { buffer.writeStaticString("NaN") } else if v.isInfinite { buffer.writeString(v < 0 ? "-Infinity" : "Infinity") } else { buffer.writeString(String(v)) }
        case .bool(let v): buffer.writeInteger(UInt8(ascii: v ? "t" : "f"))
        case .bytes(let v):
            // bytea's hex input, its backslash escaped for COPY.
            buffer.writeStaticString("\\\\x")
            let hex = Array("0123456789abcdef".utf8)
            for byte in v { buffer.writeInteger(hex[Int(byte >> 4)]); buffer.writeInteger(hex[Int(byte & 0xF)]) }
        case .text(let v), .decimal(let v), .date(let v), .datetime(let v): escaped(v, to: &buffer)
        }
    }

    static func escaped(_ text: String, to buffer: inout ByteBuffer) {
        var text = text
        text.withUTF8 { bytes in
            var start = 0
            for (i, byte) in bytes.enumerated() {
                let escape: UInt8
                switch byte {
                case UInt8(ascii: "\\"): escape = UInt8(ascii: "\\")
                case 0x09: escape = UInt8(ascii: "t")
                case 0x0A: escape = UInt8(ascii: "n")
                case 0x0D: escape = UInt8(ascii: "r")
                default: continue
                }
                buffer.writeBytes(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(bytes)[start..<i]))
                buffer.writeInteger(UInt8(ascii: "\\"))
                buffer.writeInteger(escape)
                start = i + 1
            }
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(bytes)[start...]))
        }
    }
}
