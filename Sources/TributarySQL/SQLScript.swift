/// Splits a script of several statements at the semicolons that end them, leaving
/// alone those inside quoted strings, quoted identifiers, `$tag$` bodies and comments.
/// For drivers that take one statement at a time (postgres-nio speaks only the extended protocol).
public enum SQLScript {
    public static func statements(_ script: String) -> [String] {
        let chars = Array(script.unicodeScalars)
        var statements: [String] = []
        var current = String.UnicodeScalarView()
        var i = 0
        func flush() {
            let text = String(current).trimmingCharacters(in: .whitespacesAndNewlines)
            if !text.isEmpty && !isOnlyComments(text) { statements.append(text) }
            current = String.UnicodeScalarView()
        }
        func copy(until end: Int) {
            current.append(contentsOf: chars[i..<min(end, chars.count)])
            i = min(end, chars.count)
        }
        while i < chars.count {
            let c = chars[i]
            let next: Unicode.Scalar? = i + 1 < chars.count ? chars[i + 1] : nil
            switch c {
            case "'", "\"", "`":
                var j = i + 1
                while j < chars.count {
                    if chars[j] == c {
                        if j + 1 < chars.count && chars[j + 1] == c { j += 2; continue }  // doubled quote
                        break
                    }
                    if chars[j] == "\\" && c != "\"" { j += 2; continue }
                    j += 1
                }
                copy(until: j + 1)
            case "-" where next == "-":
                var j = i
                while j < chars.count && chars[j] != "\n" { j += 1 }
                copy(until: j)
            case "/" where next == "*":
                var j = i + 2
                while j + 1 < chars.count && !(chars[j] == "*" && chars[j + 1] == "/") { j += 1 }
                copy(until: j + 2)
            case "$":
                // A dollar-quote tag: $$ or $name$ (a positional parameter like $1 is not one).
                var j = i + 1
                while j < chars.count && (chars[j].properties.isAlphabetic || chars[j] == "_" || (j > i + 1 && chars[j].properties.numericType != nil)) { j += 1 }
                if j < chars.count && chars[j] == "$" {
                    let tag = Array(chars[i...j])
                    var k = j + 1
                    while k + tag.count <= chars.count && Array(chars[k..<(k + tag.count)]) != tag { k += 1 }
                    copy(until: k + tag.count)
                } else {
                    copy(until: i + 1)
                }
            case ";":
                i += 1
                flush()
            default:
                copy(until: i + 1)
            }
        }
        flush()
        return statements
    }

    static func isOnlyComments(_ text: String) -> Bool {
        text.split(separator: "\n").allSatisfy { $0.trimmingCharacters(in: .whitespaces).hasPrefix("--") || $0.trimmingCharacters(in: .whitespaces).isEmpty }
    }
}
