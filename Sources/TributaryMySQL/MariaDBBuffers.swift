import CMariaDB
import TributarySQL

/// Parameter binds and the memory they point at, alive until the statement has run.
final class MariaDBParameters {
    let binds: UnsafeMutablePointer<MYSQL_BIND>
    private var allocations: [UnsafeMutableRawPointer] = []
    private let count: Int

    init(_ values: [SQLValue]) {
        count = max(values.count, 1)
        binds = .allocate(capacity: count)
        binds.initialize(repeating: MYSQL_BIND(), count: count)
        for (i, value) in values.enumerated() {
            switch value {
            case .null:
                binds[i].buffer_type = MYSQL_TYPE_NULL
            case .integer(let v):
                set(i, MYSQL_TYPE_LONGLONG, v)
            case .double(let v):
                set(i, MYSQL_TYPE_DOUBLE, v)
            case .bool(let v):
                set(i, MYSQL_TYPE_TINY, Int8(v ? 1 : 0))
            case .bytes(let v):
                setBytes(i, MYSQL_TYPE_BLOB, v)
            case .text(let v), .decimal(let v), .date(let v), .datetime(let v):
                // The server converts text to the column's type (DATETIME, DECIMAL) on its own.
                setBytes(i, MYSQL_TYPE_STRING, Array(v.utf8))
            }
        }
    }

    private func set<T>(_ i: Int, _ type: enum_field_types, _ value: T) {
        let memory = UnsafeMutableRawPointer.allocate(byteCount: MemoryLayout<T>.size, alignment: MemoryLayout<T>.alignment)
        memory.storeBytes(of: value, as: T.self)
        allocations.append(memory)
        binds[i].buffer_type = type
        binds[i].buffer = memory
        binds[i].buffer_length = UInt(MemoryLayout<T>.size)
    }

    private func setBytes(_ i: Int, _ type: enum_field_types, _ bytes: [UInt8]) {
        let memory = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 1)
        bytes.withUnsafeBytes { if let base = $0.baseAddress { memory.copyMemory(from: base, byteCount: bytes.count) } }
        allocations.append(memory)
        binds[i].buffer_type = type
        binds[i].buffer = memory
        binds[i].buffer_length = UInt(bytes.count)
    }

    deinit {
        allocations.forEach { $0.deallocate() }
        binds.deinitialize(count: count)
        binds.deallocate()
    }
}

/// Result binds: integers and doubles fetched binary, temporal values as MYSQL_TIME,
/// everything else as bytes sized by the stored result's longest value.
final class MariaDBResultBuffers {
    enum Slot { case integer(unsigned: Bool), double, temporal(enum_field_types), decimal, text, binary }

    let binds: UnsafeMutablePointer<MYSQL_BIND>
    private let slots: [Slot]
    private let lengths: UnsafeMutablePointer<UInt>
    private let nulls: UnsafeMutablePointer<my_bool>
    private let errors: UnsafeMutablePointer<my_bool>
    private var buffers: [UnsafeMutableRawPointer] = []
    private let count: Int

    init(fields: UnsafeBufferPointer<MYSQL_FIELD>) {
        count = max(fields.count, 1)
        binds = .allocate(capacity: count)
        binds.initialize(repeating: MYSQL_BIND(), count: count)
        lengths = .allocate(capacity: count); lengths.initialize(repeating: 0, count: count)
        nulls = .allocate(capacity: count); nulls.initialize(repeating: 0, count: count)
        errors = .allocate(capacity: count); errors.initialize(repeating: 0, count: count)
        var slots: [Slot] = []
        for (i, field) in fields.enumerated() {
            let slot = Self.slot(for: field)
            let size: Int
            switch slot {
            case .integer(let unsigned):
                binds[i].buffer_type = MYSQL_TYPE_LONGLONG
                binds[i].is_unsigned = unsigned ? 1 : 0
                size = 8
            case .double:
                binds[i].buffer_type = MYSQL_TYPE_DOUBLE
                size = 8
            case .temporal(let type):
                binds[i].buffer_type = type
                size = MemoryLayout<MYSQL_TIME>.size
            case .decimal, .text, .binary:
                binds[i].buffer_type = MYSQL_TYPE_BLOB
                size = max(Int(field.max_length), 64)
            }
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 8)
            buffers.append(buffer)
            binds[i].buffer = buffer
            binds[i].buffer_length = UInt(size)
            binds[i].length = lengths + i
            binds[i].is_null = nulls + i
            binds[i].error = errors + i
            slots.append(slot)
        }
        self.slots = slots
    }

    static func slot(for field: MYSQL_FIELD) -> Slot {
        let unsigned = field.flags & UInt32(UNSIGNED_FLAG) != 0
        switch field.type {
        case MYSQL_TYPE_TINY, MYSQL_TYPE_SHORT, MYSQL_TYPE_LONG, MYSQL_TYPE_INT24, MYSQL_TYPE_LONGLONG, MYSQL_TYPE_YEAR:
            return .integer(unsigned: unsigned)
        case MYSQL_TYPE_FLOAT, MYSQL_TYPE_DOUBLE:
            return .double
        case MYSQL_TYPE_DECIMAL, MYSQL_TYPE_NEWDECIMAL:
            return .decimal
        case MYSQL_TYPE_DATE, MYSQL_TYPE_NEWDATE:
            return .temporal(MYSQL_TYPE_DATE)
        case MYSQL_TYPE_DATETIME, MYSQL_TYPE_TIMESTAMP:
            return .temporal(MYSQL_TYPE_DATETIME)
        case MYSQL_TYPE_TIME:
            return .temporal(MYSQL_TYPE_TIME)
        default:
            // Character set 63 is `binary`: BLOB, BINARY and VARBINARY columns.
            return field.charsetnr == 63 && field.type != MYSQL_TYPE_BIT ? .binary : .text
        }
    }

    func value(at i: Int, statement: UnsafeMutablePointer<MYSQL_STMT>) throws -> SQLValue {
        if nulls[i] != 0 { return .null }
        let buffer = buffers[i]
        switch slots[i] {
        case .integer(let unsigned):
            let raw = buffer.load(as: Int64.self)
            return .integer(unsigned && raw < 0 ? Int64(bitPattern: UInt64(bitPattern: raw)) : raw)
        case .double:
            return .double(buffer.load(as: Double.self))
        case .temporal(let type):
            let t = buffer.load(as: MYSQL_TIME.self)
            let date = CivilTime.dateText(year: Int64(t.year), month: Int64(t.month), day: Int64(t.day))
            if type == MYSQL_TYPE_DATE { return .date(date) }
            let time = CivilTime.timeText(hour: Int64(t.hour), minute: Int64(t.minute), second: Int64(t.second), microsecond: Int64(t.second_part))
            if type == MYSQL_TYPE_TIME { return .text((t.neg != 0 ? "-" : "") + time) }
            return .datetime(date + " " + time)
        case .decimal, .text, .binary:
            let bytes = try fetchBytes(at: i, statement: statement)
            switch slots[i] {
            case .binary: return .bytes(bytes)
            case .decimal: return .decimal(String(decoding: bytes, as: UTF8.self))
            default: return .text(String(decoding: bytes, as: UTF8.self))
            }
        }
    }

    /// The column's bytes; a value longer than the buffer is fetched again whole.
    private func fetchBytes(at i: Int, statement: UnsafeMutablePointer<MYSQL_STMT>) throws -> [UInt8] {
        let length = Int(lengths[i])
        if length <= Int(binds[i].buffer_length) {
            return Array(UnsafeRawBufferPointer(start: buffers[i], count: length))
        }
        var bytes = [UInt8](repeating: 0, count: length)
        try bytes.withUnsafeMutableBytes { raw in
            var bind = MYSQL_BIND()
            bind.buffer_type = MYSQL_TYPE_BLOB
            bind.buffer = raw.baseAddress
            bind.buffer_length = UInt(length)
            guard mysql_stmt_fetch_column(statement, &bind, UInt32(i), 0) == 0 else {
                throw DatabaseError(.statement, "cannot fetch a long value: \(String(cString: mysql_stmt_error(statement)))")
            }
        }
        return bytes
    }

    deinit {
        buffers.forEach { $0.deallocate() }
        binds.deinitialize(count: count)
        binds.deallocate()
        lengths.deallocate()
        nulls.deallocate()
        errors.deallocate()
    }
}
