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
        guard let last = indexes.max() else { return [:] }
        var found = [Set<String>](repeating: [], count: last + 1)
        var wanted = [Bool](repeating: false, count: last + 1)
        for index in indexes { wanted[index] = true }
        // Neighbouring rows mostly name the same rows (the obs of one encounter): a value equal
        // to the line before's is not made into a string again.
        var previous = [[UInt8]](repeating: [], count: last + 1)
        for var line in lines {
            line.withUTF8 { bytes in
                forEachField(bytes) { index, range in
                    guard index <= last, wanted[index], !isNull(bytes, range) else { return }
                    let raw = UnsafeBufferPointer(rebasing: bytes[range])
                    if !previous[index].isEmpty, previous[index].elementsEqual(raw) { return }
                    previous[index] = Array(raw)
                    found[index].insert(String(decoding: raw, as: UTF8.self))
                }
            }
        }
        return Dictionary(uniqueKeysWithValues: indexes.map { ($0, found[$0]) })
    }

    /// Every line with its `fields` rewritten; `key` is the place of the value that names the
    /// line's row (handed back with each held value).
    public static func rewrite(_ lines: [String], count: Int, fields: [Int: Field], key: Int) -> Outcome {
        var out: [String] = []
        out.reserveCapacity(lines.count)
        var held: [Held] = []
        var bytesOut: [UInt8] = []
        var ranges: [Range<Int>] = []
        ranges.reserveCapacity(count)
        let byPlace = (0..<count).map { fields[$0] }
        // The last value translated at each place and what it became (see `values`).
        var lastRaw = [[UInt8]](repeating: [], count: count), lastReplacement = [[UInt8]](repeating: [], count: count)
        for (number, original) in lines.enumerated() {
            var line = original
            var failure: Outcome?
            line.withUTF8 { bytes in
                ranges.removeAll(keepingCapacity: true)
                forEachField(bytes) { _, range in ranges.append(range) }
                guard ranges.count == count else { failure = .malformed(line: number); return }
                bytesOut.removeAll(keepingCapacity: true)
                for (index, range) in ranges.enumerated() {
                    if index > 0 { bytesOut.append(0x09) }
                    let raw = UnsafeBufferPointer(rebasing: bytes[range])
                    guard let field = byPlace[index], !isNull(bytes, range) else {
                        bytesOut.append(contentsOf: raw)
                        continue
                    }
                    switch field {
                    case .translate(let replacements):
                        if !lastRaw[index].isEmpty, lastRaw[index].elementsEqual(raw) {
                            bytesOut.append(contentsOf: lastReplacement[index])
                            continue
                        }
                        let value = String(decoding: raw, as: UTF8.self)
                        guard let replacement = replacements[value] else {
                            failure = .unresolved(line: number, field: index, value: value)
                            return
                        }
                        lastRaw[index] = Array(raw)
                        lastReplacement[index] = Array(replacement.utf8)
                        bytesOut.append(contentsOf: lastReplacement[index])
                    case .setNull:
                        bytesOut.append(contentsOf: nullBytes)
                        held.append(Held(key: String(decoding: UnsafeBufferPointer(rebasing: bytes[ranges[key]]), as: UTF8.self),
                                         field: index, value: String(decoding: raw, as: UTF8.self)))
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
