/// One row in PostgreSQL's COPY text format, the form bulk rows travel in: values separated
/// by tabs, `\N` for NULL, and backslash, tab, newline and carriage return escaped inside a
/// value, so a row is one line. A PostgreSQL receiver hands the lines to COPY untouched;
/// any other receiver takes them apart here.
public enum CopyText {
    /// The values of one line (nil for NULL), or nil when the line is not `count` values.
    public static func fields(_ line: String, count: Int) -> [String?]? {
        var fields: [String?] = []
        fields.reserveCapacity(count)
        var current: [UInt8] = []
        var escaped = false, isNull = false
        func finish() {
            fields.append(isNull && current == [UInt8(ascii: "N")] ? nil : String(decoding: current, as: UTF8.self))
            current.removeAll(keepingCapacity: true)
            isNull = false
        }
        for byte in line.utf8 {
            if escaped {
                escaped = false
                switch byte {
                case UInt8(ascii: "N"): isNull = current.isEmpty; current.append(byte)
                case UInt8(ascii: "t"): current.append(0x09)
                case UInt8(ascii: "n"): current.append(0x0A)
                case UInt8(ascii: "r"): current.append(0x0D)
                case UInt8(ascii: "b"): current.append(0x08)
                case UInt8(ascii: "f"): current.append(0x0C)
                case UInt8(ascii: "v"): current.append(0x0B)
                default: current.append(byte)  // `\\` and any other escaped character stand for themselves
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\\"): escaped = true
            case 0x09: finish()
            case 0x0A, 0x0D: return nil  // a raw line break is never inside a row
            default:
                if isNull { isNull = false }  // `\N` followed by more is text, as COPY reads it
                current.append(byte)
            }
        }
        guard !escaped else { return nil }
        finish()
        return fields.count == count ? fields : nil
    }

    /// One line from values (nil for NULL).
    public static func line(_ values: [String?]) -> String {
        var bytes: [UInt8] = []
        for (i, value) in values.enumerated() {
            if i > 0 { bytes.append(0x09) }
            guard let value else { bytes.append(contentsOf: "\\N".utf8); continue }
            for byte in value.utf8 {
                switch byte {
                case UInt8(ascii: "\\"): bytes.append(contentsOf: "\\\\".utf8)
                case 0x09: bytes.append(contentsOf: "\\t".utf8)
                case 0x0A: bytes.append(contentsOf: "\\n".utf8)
                case 0x0D: bytes.append(contentsOf: "\\r".utf8)
                default: bytes.append(byte)
                }
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Whether a line holds `count` values and no raw line break: what the codec checks before
    /// a line is kept (a PostgreSQL receiver gives the line to COPY as it is). Over raw bytes,
    /// not a generic collection: unspecialized across modules, that cost 1 s per 100,000 obs.
    public static func isLine(_ bytes: UnsafeRawBufferPointer, count: Int) -> Bool {
        var tabs = 0, escaped = false
        for byte in bytes {
            if byte == 0x0A || byte == 0x0D { return false }
            if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == 0x09 { tabs += 1 }
        }
        return !escaped && tabs == count - 1
    }

    public static func isLine(_ line: String, count: Int) -> Bool {
        var line = line
        return line.withUTF8 { isLine(UnsafeRawBufferPointer($0), count: count) }
    }
}
