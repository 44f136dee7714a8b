import Foundation
import TributaryCore

/// The batch line format (one JSON object per change), written and read without Codable:
/// Foundation's `JSONDecoder` spent about 60 µs per row and `JSONEncoder` about 35 µs on an obs
/// row, the largest share of a sync's CPU; `JSONSerialization` about 20 µs; `JSONScanner` and
/// writing by hand take a few. The Codable forms of `WireChange` stay (bundle
/// files, parked conflicts) and read this output unchanged (tested).
enum WireJSON {
    struct Invalid: Error, CustomStringConvertible { let description: String }

    // MARK: reading

    static func value(_ node: JSONNode) throws -> WireValue {
        switch node {
        case .null: return .null
        case .string(let text): return .string(text)
        case .array(let parts): return .key(try parts.map(value))
        case .bool(let v): return .bool(v)
        case .integer(let v): return .int(v)
        case .double(let v): return wholeOrDouble(v)
        case .object: throw Invalid(description: "unexpected object")
        }
    }

    /// As Codable reads a number: a whole one is an integer (`1.0` too; the column's kind decides later).
    static func wholeOrDouble(_ v: Double) -> WireValue {
        if v.rounded() == v, abs(v) < 9.2e18 { return .int(Int64(v)) }
        return .double(v)
    }

    static func row(_ node: JSONNode?) throws -> [String: WireValue]? {
        switch node {
        case nil, .null?: return nil
        case .object(let members)?:
            var row: [String: WireValue] = [:]
            row.reserveCapacity(members.count)
            for (column, v) in members { row[column] = try value(v) }
            return row
        default: throw Invalid(description: "a row must be an object")
        }
    }

    static func change<Bytes: Collection>(_ line: Bytes) throws -> WireChange where Bytes.Element == UInt8 {
        guard case .object(let members) = try JSONScanner.parse(line) else { throw Invalid(description: "not a JSON object") }
        var fields: [String: JSONNode] = [:]
        for (name, v) in members { fields[name] = v }
        func text(_ key: String) throws -> String {
            guard case .string(let v)? = fields[key] else { throw Invalid(description: "'\(key)' is missing or not text") }
            return v
        }
        func flag(_ key: String) -> Bool {
            switch fields[key] {
            case .bool(let v)?: v
            case .integer(let v)?: v != 0
            default: false
            }
        }
        guard let operation = ChangeOperation(rawValue: try text("op")) else { throw Invalid(description: "unknown op") }
        guard case .key(let key) = try value(fields["key"] ?? .null) else { throw Invalid(description: "'key' must be an array") }
        var depth: Int?
        if case .integer(let v)? = fields["origin_depth"] { depth = Int(v) }
        return WireChange(table: try text("table"), operation: operation, key: key, row: try row(fields["row"]), old: try row(fields["old"]),
                          originNode: NodeID(try text("origin_node")), originTime: try text("origin_time"), load: flag("load"),
                          originDepth: depth, forced: flag("forced"))
    }

    // MARK: writing

    static func write(_ change: WireChange, into out: inout [UInt8]) throws {
        out.append(UInt8(ascii: "{"))
        field("table", &out); string(change.table, &out)
        out.append(UInt8(ascii: ",")); field("op", &out); string(change.operation.rawValue, &out)
        out.append(UInt8(ascii: ",")); field("key", &out); try value(.key(change.key), &out)
        if let row = change.row { out.append(UInt8(ascii: ",")); field("row", &out); try write(row, &out) }
        if let old = change.old { out.append(UInt8(ascii: ",")); field("old", &out); try write(old, &out) }
        out.append(UInt8(ascii: ",")); field("origin_node", &out); string(change.originNode.rawValue, &out)
        out.append(UInt8(ascii: ",")); field("origin_time", &out); string(change.originTime, &out)
        if change.load { out.append(contentsOf: Array(",\"load\":true".utf8)) }
        if let depth = change.originDepth { out.append(contentsOf: Array(",\"origin_depth\":\(depth)".utf8)) }
        if change.forced { out.append(contentsOf: Array(",\"forced\":true".utf8)) }
        out.append(UInt8(ascii: "}"))
    }

    static func write(_ row: [String: WireValue], _ out: inout [UInt8]) throws {
        out.append(UInt8(ascii: "{"))
        var first = true
        for column in row.keys.sorted() {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            field(column, &out)
            try value(row[column]!, &out)
        }
        out.append(UInt8(ascii: "}"))
    }

    static func field(_ name: String, _ out: inout [UInt8]) {
        string(name, &out)
        out.append(UInt8(ascii: ":"))
    }

    static func value(_ value: WireValue, _ out: inout [UInt8]) throws {
        switch value {
        case .null: out.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C])
        case .bool(let v): out.append(contentsOf: Array((v ? "true" : "false").utf8))
        case .int(let v): out.append(contentsOf: Array(String(v).utf8))
        case .double(let v):
            guard v.isFinite else { throw Invalid(description: "\(v) has no JSON form") }
            out.append(contentsOf: Array(String(v).utf8))  // Swift prints the shortest text that reads back exactly
        case .string(let v): string(v, &out)
        case .key(let parts):
            out.append(UInt8(ascii: "["))
            for (i, part) in parts.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                try self.value(part, &out)
            }
            out.append(UInt8(ascii: "]"))
        }
    }

    static func string(_ text: String, _ out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [0x5C, 0x22])
            case UInt8(ascii: "\\"): out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
