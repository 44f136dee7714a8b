/// CHAR(n) columns: PostgreSQL pads their values with spaces, MariaDB strips them on
/// reading, SQLite keeps what was written. Tributary reads them all stripped.
public enum FixedChar {
    public static func isFixed(_ declaredType: String) -> Bool {
        let type = declaredType.lowercased()
        return type.hasPrefix("char(") || type == "char" || type.hasPrefix("character(") || type == "character"
            || type.hasPrefix("bpchar") || type.hasPrefix("nchar")
    }

    public static func trim(_ text: String) -> String {
        guard text.last == " " else { return text }
        var end = text.endIndex
        while end > text.startIndex, text[text.index(before: end)] == " " { end = text.index(before: end) }
        return String(text[..<end])
    }
}
