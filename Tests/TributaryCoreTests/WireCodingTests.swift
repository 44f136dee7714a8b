import Foundation
import Testing
import TributaryCore
import TributaryEngine
import TributarySQL

/// Each dialect's image spellings meet in one value, and the wire carries it unchanged.
@Suite struct WireCodingTests {
    @Test func imagesFromEveryDialectMeet() {
        // MariaDB: booleans as numbers, hex binary, space in datetimes; PostgreSQL: true/false, \x hex, T.
        #expect(WireCoding.sqlValue(ImageValue.integer(1), kind: .boolean) == .bool(true))
        #expect(WireCoding.sqlValue(ImageValue.bool(true), kind: .boolean) == .bool(true))
        #expect(WireCoding.sqlValue(ImageValue.string("0A0BFF"), kind: .binary) == .bytes([10, 11, 255]))
        #expect(WireCoding.sqlValue(ImageValue.string("\\x0a0bff"), kind: .binary) == .bytes([10, 11, 255]))
        #expect(WireCoding.sqlValue(ImageValue.string("2026-01-02T03:04:05.5"), kind: .datetime)
                == WireCoding.sqlValue(ImageValue.string("2026-01-02 03:04:05.500000"), kind: .datetime))
        #expect(WireCoding.sqlValue(ImageValue.number(12.5), kind: .decimal) == WireCoding.sqlValue(ImageValue.string("12.50"), kind: .decimal))
    }

    @Test(arguments: [
        (SQLValue.bool(false), ColumnKind.boolean), (.integer(-7), .integer), (.double(0.1 + 0.2), .double),
        (.decimal("1234.5"), .decimal), (.text("Ünïcødé 😀"), .text), (.bytes([0, 1, 254, 255]), .binary),
        (.date("2024-02-29"), .date), (.datetime("2026-11-22 10:11:12.345678"), .datetime), (.null, .text),
    ])
    func wireRoundTrip(value: SQLValue, kind: ColumnKind) throws {
        let wire = WireCoding.wire(value)
        let decoded = try JSONDecoder().decode(WireValue.self, from: try JSONEncoder().encode(wire))
        #expect(WireCoding.sqlValue(decoded, kind: kind) == value)
    }
}
