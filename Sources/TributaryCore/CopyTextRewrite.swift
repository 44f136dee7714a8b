/// Lines of COPY text with some values replaced, the rest left byte for byte: how bulk rows
/// reach their table at once on PostgreSQL, each reference's uuid replaced by the local id.
/// Works on the raw text of a value (escapes left in): a uuid holds none, and a value that
/// does is simply not found among the replacements.
public enum CopyTextRewrite {
    /// How one value of every line is rewritten.
    public enum Field: Sendable {
        /// Replaced by its entry (raw text → raw text); a value with no entry is unresolved.
        case translate([String: String])
        /// Written as NULL; the value is handed back beside the line's key (set later).
        case setNull
    }

    /// A value written as NULL for now: the line's key, the value's place and its raw text.
    public struct Held: Sendable, Equatable {
        public var key: String
        public var field: Int
        public var value: String

        public init(key: String, field: Int, value: String) {
            self.key = key
            self.field = field
            self.value = value
        }
    }

    public enum Outcome: Sendable, Equatable {
        case rewritten(lines: [String], held: [Held])
        /// The first value with no replacement: its line and place.
        case unresolved(line: Int, field: Int, value: String)
        case malformed(line: Int)
    }

    /// The distinct non-NULL raw values of the fields at `indexes`, by index.
    public static func values(of lines: [String], at indexes: [Int]) -> [Int: Set<String>] {
        var found = Dictionary(uniqueKeysWithValues: indexes.map { ($0, Set<String>()) })
        let wanted = Set(indexes)
        for var line in lines {
            line.withUTF8 { bytes in
                forEachField(bytes) { index, range in
                    guard wanted.contains(index), !isNull(bytes, range) else { return }
                    found[index]?.insert(String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self))
                }
            }
        }
        return found
    }

    /// Every line with its `fields` rewritten; `key` is the place of the value that names the
    /// line's row (handed back with each held value).
    public static func rewrite(_ lines: [String], count: Int, fields: [Int: Field], key: Int) -> Outcome {
        var out: [String] = []
        out.reserveCapacity(lines.count)
        var held: [Held] = []
        var bytesOut: [UInt8] = []
        for (number, original) in lines.enumerated() {
            var line = original
            var failure: Outcome?
            var ranges: [Range<Int>] = []
            ranges.reserveCapacity(count)
            line.withUTF8 { bytes in
                forEachField(bytes) { _, range in ranges.append(range) }
                guard ranges.count == count else { failure = .malformed(line: number); return }
                bytesOut.removeAll(keepingCapacity: true)
                for (index, range) in ranges.enumerated() {
                    if index > 0 { bytesOut.append(0x09) }
                    guard let field = fields[index], !isNull(bytes, range) else {
                        bytesOut.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[range]))
                        continue
                    }
                    let value = String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
                    switch field {
                    case .translate(let replacements):
                        guard let replacement = replacements[value] else {
                            failure = .unresolved(line: number, field: index, value: value)
                            return
                        }
                        bytesOut.append(contentsOf: replacement.utf8)
                    case .setNull:
                        bytesOut.append(contentsOf: nullBytes)
                        held.append(Held(key: String(decoding: UnsafeBufferPointer(rebasing: bytes[ranges[key]]), as: UTF8.self),
                                         field: index, value: value))
                    }
                }
            }
            if let failure { return failure }
            out.append(String(decoding: bytesOut, as: UTF8.self))
        }
        return .rewritten(lines: out, held: held)
    }

    static let nullBytes: [UInt8] = [UInt8(ascii: "\\"), UInt8(ascii: "N")]

    static func isNull(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Bool {
        range.count == 2 && bytes[range.lowerBound] == UInt8(ascii: "\\") && bytes[range.lowerBound + 1] == UInt8(ascii: "N")
    }

    /// Calls `body` with each value's place and byte range; a tab after a backslash is text.
    static func forEachField(_ bytes: UnsafeBufferPointer<UInt8>, _ body: (Int, Range<Int>) -> Void) {
        var start = 0, index = 0, escaped = false
        for offset in 0..<bytes.count {
            let byte = bytes[offset]
            if escaped { escaped = false; continue }
            if byte == UInt8(ascii: "\\") { escaped = true } else if byte == 0x09 {
                body(index, start..<offset)
                index += 1
                start = offset + 1
            }
        }
        body(index, start..<bytes.count)
    }
}
