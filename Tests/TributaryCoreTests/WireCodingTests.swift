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

    static let awkward: [WireChange] = [
        WireChange(table: "person_name", operation: .update, key: [.string("0b1c-ü")],
                   row: ["given_name": .string("Ünïcødé 😀 \"quoted\" back\\slash\nline\ttab\u{01}"), "n": .int(Int64.max), "m": .int(-3),
                         "d": .double(0.1 + 0.2), "e": .double(-1.5e-300), "b": .bool(false), "z": .null,
                         "ref": .key([.string("82f18b44-6814-11e8-923f-e9a88dcb533f")])],
                   old: ["given_name": .string("")], originNode: "clinic-1", originTime: "2026-11-22 10:00:00.123456",
                   originDepth: 2),
        WireChange(table: "user_role", operation: .delete, key: [.key([.string("u")]), .string("Provider")], row: nil,
                   old: ["role": .string("Provider")], originNode: "central", originTime: "2026-11-22 10:00:00", load: true, forced: true),
        WireChange(table: "obs", operation: .insert, key: [.string("x")], row: [:], old: nil, originNode: "n", originTime: "t"),
    ]

    /// The hand-written batch lines read back exactly, and Codable reads them the same way
    /// (bundle files and parked conflicts use the Codable form).
    @Test func batchLinesRoundTripAndAgreeWithCodable() throws {
        let batch = Batch(header: BatchHeader(batchID: 7, source: "a", target: "b", channel: "default", count: Self.awkward.count), changes: Self.awkward)
        let data = try BatchCodec.encode(batch)
        #expect(try BatchCodec.decode(data) == batch)
        let lines = data.split(separator: 0x0A)
        for (line, change) in zip(lines.dropFirst(), Self.awkward) {
            #expect(try JSONDecoder().decode(WireChange.self, from: Data(line)) == change)
        }
        #expect(throws: SyncError.self) { try BatchCodec.decode(data.prefix(data.count - 20)) }
        var garbled = data
        let endOfFirstChange = data.firstIndex(of: 0x0A).map { data[($0 + 1)...].firstIndex(of: 0x0A)! }!
        garbled[endOfFirstChange - 1] = UInt8(ascii: ",")
        #expect(throws: SyncError.self) { try BatchCodec.decode(garbled) }
        // A whole double reads back as an integer either way; the column's kind makes it a double again.
        let whole = WireChange(table: "obs", operation: .insert, key: [.string("x")], row: ["value_numeric": .double(72)], old: nil,
                               originNode: "n", originTime: "t")
        let line = try BatchCodec.encode(Batch(header: BatchHeader(batchID: 1, source: "a", target: "b", channel: "c", count: 1), changes: [whole]))
        #expect(try BatchCodec.decode(line).changes[0].row?["value_numeric"] == .int(72))
        #expect(try JSONDecoder().decode(WireChange.self, from: Data(line.split(separator: 0x0A)[1])).row?["value_numeric"] == .int(72))
    }
}
