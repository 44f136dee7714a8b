import Foundation
import TributaryCore

/// Batches on the wire as JSON lines: the header, one line per change, and a trailer
/// repeating the count, so a truncated stream is told apart from a short batch. A bulk
/// batch carries its rows' lines as the sending database wrote them, one per line.
public enum BatchCodec {
    struct Trailer: Codable { let end: Int }

    public static func encode(_ batch: Batch) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(batch.header)
        data.append(0x0A)
        var lines: [UInt8] = []
        lines.reserveCapacity(batch.changes.count * 800)
        if let bulk = batch.header.bulk {
            for row in batch.bulkRows {
                // COPY text escapes line breaks: a raw one is not a row.
                guard CopyText.isLine(row, count: bulk.columns.count) else {
                    throw SyncError.protocolError("a bulk row is not one line of \(bulk.columns.count) values")
                }
                lines.append(contentsOf: row.utf8)
                lines.append(0x0A)
            }
        } else {
            for change in batch.changes {
                try WireJSON.write(change, into: &lines)
                lines.append(0x0A)
            }
        }
        data.append(contentsOf: lines)
        data.append(try encoder.encode(Trailer(end: batch.size)))
        data.append(0x0A)
        return data
    }

    public static func decode(_ data: Data) throws -> Batch {
        let decoder = JSONDecoder()
        let lines = Self.lines(data)
        guard let first = lines.first else { throw SyncError.protocolError("empty batch") }
        let header: BatchHeader
        do { header = try decoder.decode(BatchHeader.self, from: Data(first)) } catch {
            throw SyncError.protocolError("the batch does not start with a valid header")
        }
        guard lines.count >= 2, let trailer = try? decoder.decode(Trailer.self, from: Data(lines[lines.count - 1])) else {
            throw SyncError.protocolError("batch \(header.batchID) is truncated (no end line)")
        }
        let body = lines.dropFirst().dropLast()
        guard trailer.end == body.count, header.count == body.count else {
            throw SyncError.protocolError("batch \(header.batchID) announces \(header.count) changes and carries \(body.count)")
        }
        if let bulk = header.bulk {
            guard bulk.format == BulkDescriptor.copyText else {
                throw SyncError.protocolError("batch \(header.batchID): bulk rows in an unknown format \(bulk.format)")
            }
            var rows: [String] = []
            rows.reserveCapacity(body.count)
            for (i, line) in body.enumerated() {
                guard line.withUnsafeBytes({ CopyText.isLine($0, count: bulk.columns.count) }) else {
                    throw SyncError.protocolError("batch \(header.batchID), row \(i + 1): not \(bulk.columns.count) values of COPY text")
                }
                rows.append(String(decoding: line, as: UTF8.self))
            }
            return Batch(header: header, changes: [], bulkRows: rows)
        }
        var changes: [WireChange] = []
        changes.reserveCapacity(body.count)
        for (i, line) in body.enumerated() {
            do { changes.append(try WireJSON.change(line)) } catch {
                throw SyncError.protocolError("batch \(header.batchID), change \(i + 1): not a valid change (\(error))")
            }
        }
        return Batch(header: header, changes: changes)
    }

    /// The non-empty lines, as slices sharing the data's storage (`split` on `Data` went
    /// through generic collection code and showed in profiles).
    static func lines(_ data: Data) -> [Data] {
        let ranges: [Range<Int>] = data.withUnsafeBytes { raw in
            var ranges: [Range<Int>] = []
            var start = 0
            for (i, byte) in raw.enumerated() where byte == 0x0A {
                if i > start { ranges.append(start..<i) }
                start = i + 1
            }
            if raw.count > start { ranges.append(start..<raw.count) }
            return ranges
        }
        return ranges.map { data[(data.startIndex + $0.lowerBound)..<(data.startIndex + $0.upperBound)] }
    }
}
