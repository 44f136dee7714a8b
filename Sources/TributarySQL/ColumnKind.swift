import Foundation

/// What a column holds, independent of how a dialect spells its type.
public enum ColumnKind: String, Sendable, Codable, Hashable {
    case integer, boolean, decimal, double, text, binary, date, datetime, time

    /// Classifies a declared type. MySQL spells booleans `tinyint(1)`; SQLite keeps
    /// the declared words (`BOOLEAN`, `DATETIME`) although it stores 0/1 and text.
    public init(declaredType: String) {
        let t = declaredType.lowercased()
        func has(_ words: String...) -> Bool { words.contains { t.contains($0) } }
        if t.hasPrefix("tinyint(1)") || t.hasPrefix("bool") || t == "bit(1)" { self = .boolean }
        else if has("int") { self = .integer }
        else if has("decimal", "numeric") { self = .decimal }
        else if has("double", "float", "real") { self = .double }
        else if has("timestamp", "datetime") { self = .datetime }
        else if t.hasPrefix("date") { self = .date }
        else if t.hasPrefix("time") { self = .time }
        else if has("blob", "bytea", "binary") { self = .binary }
        else { self = .text }
    }

    /// Brings a value read from any dialect to this kind's canonical form, so that
    /// equal data compares equal across SQLite, PostgreSQL and MariaDB.
    public func normalize(_ value: SQLValue) -> SQLValue {
        switch (self, value) {
        case (_, .null): return .null
        case (.boolean, .integer(let v)): return .bool(v != 0)
        case (.boolean, .text(let v)): return .bool(v == "1" || v.lowercased() == "t" || v.lowercased() == "true")
        case (.integer, .text(let v)): return Int64(v).map(SQLValue.integer) ?? value
        case (.integer, .bool(let v)): return .integer(v ? 1 : 0)
        case (.decimal, .integer(let v)): return .decimal(Self.canonicalDecimal(String(v)))
        case (.decimal, .double(let v)): return .decimal(Self.canonicalDecimal(String(v)))
        case (.decimal, .text(let v)), (.decimal, .decimal(let v)): return .decimal(Self.canonicalDecimal(v))
        case (.double, .integer(let v)): return .double(Double(v))
        case (.double, .text(let v)), (.double, .decimal(let v)): return Double(v).map(SQLValue.double) ?? value
        case (.datetime, .text(let v)), (.datetime, .datetime(let v)): return .datetime(Self.canonicalDatetime(v))
        case (.date, .text(let v)), (.date, .datetime(let v)): return .date(String(v.prefix(10)))
        case (.binary, .text(let v)): return .bytes(Array(v.utf8))
        default: return value
        }
    }

    /// `12.50` and `12.5` are the same decimal; `-0` is `0`.
    static func canonicalDecimal(_ text: String) -> String {
        var s = text.trimmingCharacters(in: .whitespaces)
        if s.lowercased().contains("e"), let d = Decimal(string: s) { s = "\(d)" }
        if s.contains(".") {
            while s.hasSuffix("0") { s.removeLast() }
            if s.hasSuffix(".") { s.removeLast() }
        }
        if s == "-0" { s = "0" }
        return s
    }

    /// `2020-01-02T03:04:05.000000` and `2020-01-02 03:04:05` are the same instant.
    static func canonicalDatetime(_ text: String) -> String {
        // Most values are canonical already; Foundation's string search is slow enough to show.
        let utf8 = text.utf8
        guard utf8.contains(UInt8(ascii: "T")) || utf8.contains(UInt8(ascii: ".")) else { return text }
        var bytes = utf8.map { $0 == UInt8(ascii: "T") ? UInt8(ascii: " ") : $0 }
        if let dot = bytes.firstIndex(of: UInt8(ascii: ".")) {
            while bytes.count > dot + 1, bytes.last == UInt8(ascii: "0") { bytes.removeLast() }
            if bytes.count == dot + 1 { bytes.removeLast() }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
