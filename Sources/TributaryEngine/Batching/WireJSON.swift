import Foundation
import TributaryCore

/// The batch line format (one JSON object per change), written and read without Codable:
/// Foundation's `JSONDecoder` spent about 60 µs per row and `JSONEncoder` about 35 µs on an obs
/// row, the largest share of a sync's CPU; `JSONSerialization` reads the same text in about
/// 20 µs, and writing JSON by hand takes a few. The Codable forms of `WireChange` stay (bundle
/// files, parked conflicts) and read this output unchanged (tested).
enum WireJSON {
    struct Invalid: Error, CustomStringConvertible { let description: String }

    // MARK: reading

    static func object(_ data: Data) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else { throw Invalid(description: "not a JSON object") }
        return object
    }

    static func value(_ any: Any) throws -> WireValue {
        switch any {
        case is NSNull: return .null
        case let text as String: return .string(text)
        case let parts as [Any]: return .key(try parts.map(value))
        case let number as NSNumber: return scalar(number)
        default: throw Invalid(description: "unexpected value \(type(of: any))")
        }
    }

    /// A JSON number or boolean as Codable reads it: JSONSerialization marks true/false as 'c'
    /// and numbers with a fraction or exponent as 'd'; a whole number is an integer (the
    /// column's kind decides later).
    static func scalar(_ number: NSNumber) -> WireValue {
        switch String(cString: number.objCType) {
        case "c", "B": return .bool(number.boolValue)
        case "d", "f":
            let v = exactDouble(number)
            if v.rounded() == v, abs(v) < 9.2e18 { return .int(Int64(v)) }
            return .double(v)
        default: return .int(number.int64Value)
        }
    }

    /// JSONSerialization reads some numbers as `NSDecimalNumber`, whose `doubleValue` can be off
    /// in the last digit; its text reads back exactly.
    static func exactDouble(_ number: NSNumber) -> Double {
        if number is NSDecimalNumber, let exact = Double(number.stringValue) { return exact }
        return number.doubleValue
    }

    static func row(_ any: Any?) throws -> [String: WireValue]? {
        guard let any, !(any is NSNull) else { return nil }
        guard let object = any as? [String: Any] else { throw Invalid(description: "a row must be an object") }
        var row: [String: WireValue] = [:]
        row.reserveCapacity(object.count)
        for (column, v) in object { row[column] = try value(v) }
        return row
    }

    static func change(_ data: Data) throws -> WireChange {
        let o = try object(data)
        func text(_ key: String) throws -> String {
            guard let v = o[key] as? String else { throw Invalid(description: "'\(key)' is missing or not text") }
            return v
        }
        guard let operation = ChangeOperation(rawValue: try text("op")) else { throw Invalid(description: "unknown op") }
        guard case .key(let key) = try value(o["key"] ?? NSNull()) else { throw Invalid(description: "'key' must be an array") }
        let flag = { (name: String) -> Bool in (o[name] as? NSNumber)?.boolValue ?? false }
        return WireChange(table: try text("table"), operation: operation, key: key, row: try row(o["row"]), old: try row(o["old"]),
                          originNode: NodeID(try text("origin_node")), originTime: try text("origin_time"), load: flag("load"),
                          originDepth: (o["origin_depth"] as? NSNumber)?.intValue, forced: flag("forced"))
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
