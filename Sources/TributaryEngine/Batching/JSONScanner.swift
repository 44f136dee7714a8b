/// A JSON document read byte by byte into plain Swift values. Foundation's `JSONSerialization`
/// builds bridged `NSDictionary`/`NSNumber` objects that then have to be cast back, which was
/// the largest CPU share of reading a batch and a row image (measured with perf); the two
/// formats read here are small and fixed, so a direct reader is a few times faster.
/// `Sendable` is declared, not inferred: inferring it for this recursive enum made a clean
/// build fail with "circular reference" once the module's files fell into other batches.
enum JSONNode: Equatable, Sendable {
    case null
    case bool(Bool)
    /// A number without fraction or exponent that fits 64 bits.
    case integer(Int64)
    case double(Double)
    case string(String)
    case array([JSONNode])
    /// Members in document order.
    case object([(String, JSONNode)])

    static func == (a: JSONNode, b: JSONNode) -> Bool {
        switch (a, b) {
        case (.null, .null): true
        case (.bool(let x), .bool(let y)): x == y
        case (.integer(let x), .integer(let y)): x == y
        case (.double(let x), .double(let y)): x == y
        case (.string(let x), .string(let y)): x == y
        case (.array(let x), .array(let y)): x == y
        case (.object(let x), .object(let y)): x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: false
        }
    }
}

struct JSONScanner {
    struct Invalid: Error, CustomStringConvertible { let description: String }

    /// Reads one JSON value that must fill `bytes` (whitespace aside).
    static func parse<Bytes: Collection>(_ bytes: Bytes) throws -> JSONNode where Bytes.Element == UInt8 {
        let read = try bytes.withContiguousStorageIfAvailable { try parseBuffer($0) }
        if let read { return read }
        return try Array(bytes).withUnsafeBufferPointer { try parseBuffer($0) }
    }

    static func parse(_ text: String) throws -> JSONNode {
        var text = text
        return try text.withUTF8 { try parseBuffer($0) }
    }

    private static func parseBuffer(_ buffer: UnsafeBufferPointer<UInt8>) throws -> JSONNode {
        var scanner = JSONScanner(bytes: buffer)
        let value = try scanner.value(depth: 0)
        scanner.skipSpace()
        guard scanner.at == buffer.count else { throw scanner.invalid("text after the JSON value") }
        return value
    }

    private let bytes: UnsafeBufferPointer<UInt8>
    private var at = 0
    /// Deeper nesting than any row image or batch line has: a guard against a hostile stream.
    private static let maxDepth = 64

    private init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    private func invalid(_ what: String) -> Invalid { Invalid(description: "invalid JSON at byte \(at): \(what)") }

    private mutating func skipSpace() {
        while at < bytes.count {
            switch bytes[at] {
            case 0x20, 0x0A, 0x0D, 0x09: at += 1
            default: return
            }
        }
    }

    private mutating func value(depth: Int) throws -> JSONNode {
        guard depth < Self.maxDepth else { throw invalid("nested too deeply") }
        skipSpace()
        guard at < bytes.count else { throw invalid("unexpected end") }
        switch bytes[at] {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        default: return try number()
        }
    }

    private mutating func literal(_ word: StaticString) throws {
        let count = word.utf8CodeUnitCount
        guard at + count <= bytes.count else { throw invalid("unexpected end") }
        for i in 0..<count where bytes[at + i] != word.utf8Start[i] { throw invalid("unknown word") }
        at += count
    }

    private mutating func object(depth: Int) throws -> JSONNode {
        at += 1
        var members: [(String, JSONNode)] = []
        skipSpace()
        if at < bytes.count, bytes[at] == UInt8(ascii: "}") { at += 1; return .object(members) }
        while true {
            skipSpace()
            guard at < bytes.count, bytes[at] == UInt8(ascii: "\"") else { throw invalid("expected a member name") }
            let name = try string()
            skipSpace()
            guard at < bytes.count, bytes[at] == UInt8(ascii: ":") else { throw invalid("expected ':'") }
            at += 1
            members.append((name, try value(depth: depth + 1)))
            skipSpace()
            guard at < bytes.count else { throw invalid("unexpected end in an object") }
            if bytes[at] == UInt8(ascii: ",") { at += 1; continue }
            if bytes[at] == UInt8(ascii: "}") { at += 1; return .object(members) }
            throw invalid("expected ',' or '}'")
        }
    }

    private mutating func array(depth: Int) throws -> JSONNode {
        at += 1
        var items: [JSONNode] = []
        skipSpace()
        if at < bytes.count, bytes[at] == UInt8(ascii: "]") { at += 1; return .array(items) }
        while true {
            items.append(try value(depth: depth + 1))
            skipSpace()
            guard at < bytes.count else { throw invalid("unexpected end in an array") }
            if bytes[at] == UInt8(ascii: ",") { at += 1; continue }
            if bytes[at] == UInt8(ascii: "]") { at += 1; return .array(items) }
            throw invalid("expected ',' or ']'")
        }
    }

    private mutating func string() throws -> String {
        at += 1
        let start = at
        // Most strings have no escape: one pass to find the end, one copy.
        while at < bytes.count {
            let byte = bytes[at]
            if byte == UInt8(ascii: "\"") {
                let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<at]), as: UTF8.self)
                at += 1
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw invalid("control character in a string") }
            at += 1
        }
        var out = Array(bytes[start..<at])
        while at < bytes.count {
            let byte = bytes[at]
            at += 1
            switch byte {
            case UInt8(ascii: "\""): return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard at < bytes.count else { throw invalid("unexpected end in a string") }
                let escaped = bytes[at]
                at += 1
                switch escaped {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escaped)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "u"): appendScalar(try unicodeEscape(), to: &out)
                default: throw invalid("unknown escape")
                }
            case 0..<0x20: throw invalid("control character in a string")
            default: out.append(byte)
            }
        }
        throw invalid("unterminated string")
    }

    /// `\uXXXX`, joining a surrogate pair; a lone surrogate becomes U+FFFD as Foundation does.
    private mutating func unicodeEscape() throws -> Unicode.Scalar {
        let high = try hex4()
        if (0xD800..<0xDC00).contains(high), at + 6 <= bytes.count, bytes[at] == UInt8(ascii: "\\"), bytes[at + 1] == UInt8(ascii: "u") {
            let save = at
            at += 2
            let low = try hex4()
            if (0xDC00..<0xE000).contains(low) {
                return Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)) ?? "\u{FFFD}"
            }
            at = save
        }
        return Unicode.Scalar(high) ?? "\u{FFFD}"
    }

    private mutating func hex4() throws -> UInt32 {
        guard at + 4 <= bytes.count else { throw invalid("short \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[at]
            at += 1
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw invalid("bad \\u escape")
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    private func appendScalar(_ scalar: Unicode.Scalar, to out: inout [UInt8]) {
        UTF8.encode(scalar) { out.append($0) }
    }

    private mutating func number() throws -> JSONNode {
        let start = at
        var integral = true
        while at < bytes.count, Self.isNumberByte(bytes[at]) {
            switch bytes[at] {
            case UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"), UInt8(ascii: "+"): integral = false
            case UInt8(ascii: "-") where at > start: integral = false
            default: break
            }
            at += 1
        }
        guard at > start else { throw invalid("unexpected character") }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<at]), as: UTF8.self)
        if integral, let value = Int64(text) { return .integer(value) }
        guard let value = Double(text), value.isFinite else { throw invalid("bad number \(text)") }
        return .double(value)
    }

    private static func isNumberByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"), UInt8(ascii: "+"), UInt8(ascii: "-"): true
        default: false
        }
    }
}

extension JSONNode {
    /// Compact JSON with members sorted by name: how a nested value in a row image travels as text.
    var canonicalText: String {
        var out: [UInt8] = []
        write(into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    private func write(into out: inout [UInt8]) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let v): out.append(contentsOf: (v ? "true" : "false").utf8)
        case .integer(let v): out.append(contentsOf: String(v).utf8)
        case .double(let v): out.append(contentsOf: String(v).utf8)
        case .string(let v): WireJSON.string(v, &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                item.write(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (i, member) in members.sorted(by: { $0.0 < $1.0 }).enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                WireJSON.string(member.0, &out)
                out.append(UInt8(ascii: ":"))
                member.1.write(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }
}
