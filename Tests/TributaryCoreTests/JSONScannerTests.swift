import Foundation
import Testing
@testable import TributaryEngine

/// The byte-level JSON reader that replaced `JSONSerialization` on the batch path reads what
/// Foundation reads, the same way, and refuses what Foundation refuses.
@Suite struct JSONScannerTests {
    static let documents = [
        #"{"a":1,"b":-2,"c":3.25,"d":1e3,"e":-0.5E-2,"f":true,"g":false,"h":null}"#,
        #"{"s":"plain","t":"quote \" slash \\ \/ tab \t nl \n cr \r bs \b ff \f","u":"\u00e9\u4e2d\ud83d\ude00","v":"Ünïcødé 😀"}"#,
        #"  { "nested" : { "x" : [1, [2, "three"], {"four": 4}], "y" : [] , "z" : {} } }  "#,
        #"{"big":9223372036854775807,"small":-9223372036854775808,"beyond":92233720368547758070}"#,
        #"[0.1, 12.50, 100, "2026-01-02 03:04:05.5"]"#,
    ]

    @Test(arguments: documents)
    func readsWhatFoundationReads(_ text: String) throws {
        let ours = try JSONScanner.parse(text)
        let theirs = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
        #expect(Self.same(ours, theirs), "\(ours) vs \(theirs)")
        // Bytes and text give the same value.
        #expect(try JSONScanner.parse(Array(text.utf8)) == ours)
    }

    @Test(arguments: [
        "", "{", #"{"a":}"#, #"{"a":1,}"#, #"{"a" 1}"#, "[1 2]", #""unterminated"#, #""bad \x escape""#, "tru", "nul",
        #"{"a":1} trailing"#, "\"control \u{01} char\"", "-", "1.2.3e", #"{"a":"\u12"}"#,
    ])
    func refusesMalformedText(_ text: String) {
        #expect(throws: JSONScanner.Invalid.self) { try JSONScanner.parse(text) }
    }

    @Test func refusesHostileNesting() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: JSONScanner.Invalid.self) { try JSONScanner.parse(deep) }
    }

    /// A nested value in a row image (a JSON column in PostgreSQL) travels as compact text with sorted members.
    @Test func nestedImageValuesBecomeCanonicalText() throws {
        let image = try ImageDecoding.image(#"{"id": 3, "doc": {"b": [1, 2.5], "a": "x\"y"}, "n": 2.0, "d": 0.25}"#)
        #expect(image["doc"] == .string(#"{"a":"x\"y","b":[1,2.5]}"#))
        #expect(image["id"] == .integer(3))
        #expect(image["n"] == .integer(2))
        #expect(image["d"] == .number(0.25))
    }

    static func same(_ node: JSONNode, _ any: Any) -> Bool {
        switch (node, any) {
        case (.null, is NSNull): return true
        case (.string(let s), let t as String): return s == t
        case (.bool(let b), let n as NSNumber): return String(cString: n.objCType) == "c" && n.boolValue == b
        case (.integer(let i), let n as NSNumber): return n.int64Value == i && String(cString: n.objCType) != "c"
        case (.double(let d), let n as NSNumber): return abs(Double(n.stringValue)! - d) <= abs(d) * 1e-15
        case (.array(let items), let array as [Any]): return items.count == array.count && zip(items, array).allSatisfy { same($0, $1) }
        case (.object(let members), let object as [String: Any]):
            return members.count == object.count && members.allSatisfy { name, value in object[name].map { same(value, $0) } ?? false }
        default: return false
        }
    }
}
