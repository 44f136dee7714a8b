import CompressNIO
import Crypto
import Foundation
import NIOCore
import TributaryCore

/// What a bundle says about itself, readable before its key is known.
public struct BundleHeader: Sendable, Hashable, Codable {
    public var format: Int
    public var bundleID: String
    public var sender: NodeID
    /// Empty in a child's first bundle: it does not know its parent's id before registering.
    public var recipient: NodeID
    public var createdAt: String
    /// `node`: sealed with the link's key (from the node secret); `token`: with the registration token's.
    public var key: String

    enum CodingKeys: String, CodingKey { case format, bundleID = "bundle_id", sender, recipient, createdAt = "created_at", key }
}

public struct BundleError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The file: a magic line, the header as one JSON line, then chunks, each a 4-byte length
/// and a ChaChaPoly box (nonce, ciphertext, tag) of up to 1 MiB of gzip-compressed NDJSON
/// records. Every chunk is authenticated together with the header, its index and whether
/// it is the last, so a changed header, a reordered, altered or missing chunk, a cut file
/// or a wrong key each fail the check. Written and read a chunk at a time.
enum BundleFile {
    static let magic = Data("TRIBUTARY-BUNDLE 1\n".utf8)
    static let chunkSize = 1 << 20
    static let maxChunk = 64 << 20

    static func key(hex: String) throws -> SymmetricKey {
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2, limitedBy: hex.endIndex) ?? hex.endIndex
            guard let byte = UInt8(hex[index..<next], radix: 16) else { throw BundleError("malformed bundle key") }
            bytes.append(byte)
            index = next
        }
        guard bytes.count == 32 else { throw BundleError("malformed bundle key") }
        return SymmetricKey(data: bytes)
    }

    static func associatedData(header: Data, index: UInt64, final: Bool) -> Data {
        var data = Data(SHA256.hash(data: header))
        withUnsafeBytes(of: index.bigEndian) { data.append(contentsOf: $0) }
        data.append(final ? 1 : 0)
        return data
    }
}

/// Writes a bundle to `path.partial`, renamed to `path` once complete.
final class BundleWriter {
    let path: String
    let handle: FileHandle
    let headerLine: Data
    let key: SymmetricKey
    var pending = Data()
    var index: UInt64 = 0

    init(path: String, header: BundleHeader, key: SymmetricKey) throws {
        self.path = path
        self.key = key
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        headerLine = try encoder.encode(header) + Data("\n".utf8)
        let partial = path + ".partial"
        FileManager.default.createFile(atPath: partial, contents: nil)
        guard let handle = FileHandle(forWritingAtPath: partial) else { throw BundleError("cannot write \(partial)") }
        self.handle = handle
        handle.write(BundleFile.magic)
        handle.write(headerLine)
    }

    func append(_ record: BundleRecord) throws {
        pending.append(try JSONEncoder().encode(record))
        pending.append(0x0A)
        if pending.count >= BundleFile.chunkSize { try flush(final: false) }
    }

    private func flush(final: Bool) throws {
        var plain = ByteBuffer(bytes: pending)
        let compressed = try plain.compress(with: .gzip())
        let box = try ChaChaPoly.seal(Data(buffer: compressed), using: key,
                                      authenticating: BundleFile.associatedData(header: headerLine, index: index, final: final))
        let sealed = box.combined
        withUnsafeBytes(of: UInt32(sealed.count).bigEndian) { handle.write(Data($0)) }
        handle.write(sealed)
        pending.removeAll(keepingCapacity: true)
        index += 1
    }

    func finish() throws {
        try flush(final: true)
        try handle.synchronize()
        try handle.close()
        if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
        try FileManager.default.moveItem(atPath: path + ".partial", toPath: path)
    }

    func abandon() {
        try? handle.close()
        try? FileManager.default.removeItem(atPath: path + ".partial")
    }
}

/// Reads a bundle: the header alone, or every record after checking every chunk.
enum BundleReader {
    static func header(_ path: String) throws -> (BundleHeader, Data) {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw BundleError("cannot read \(path)") }
        defer { try? handle.close() }
        let start = try handle.read(upToCount: BundleFile.magic.count + 4096) ?? Data()
        guard start.starts(with: BundleFile.magic) else { throw BundleError("\(path) is not a Tributary bundle") }
        let rest = start.dropFirst(BundleFile.magic.count)
        guard let end = rest.firstIndex(of: 0x0A) else { throw BundleError("\(path): the bundle header is cut or damaged") }
        let line = Data(rest[rest.startIndex...end])
        guard let header = try? JSONDecoder().decode(BundleHeader.self, from: line), header.format == 1 else {
            throw BundleError("\(path): the bundle header is damaged or of an unknown format")
        }
        return (header, line)
    }

    /// Opens every chunk with `key`; returns the plaintext of each through `body`, in order.
    static func chunks(_ path: String, headerLine: Data, key: SymmetricKey, _ body: (Data) async throws -> Void) async throws {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw BundleError("cannot read \(path)") }
        defer { try? handle.close() }
        try handle.seek(toOffset: UInt64(BundleFile.magic.count + headerLine.count))
        var index: UInt64 = 0
        var sawFinal = false
        while let lengthBytes = try handle.read(upToCount: 4), !lengthBytes.isEmpty {
            guard !sawFinal else { throw BundleError("\(path): data after the bundle's last part (tampered with)") }
            guard lengthBytes.count == 4 else { throw BundleError("\(path) is truncated") }
            let length = Int(lengthBytes.reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
            guard length > 28, length <= BundleFile.maxChunk else { throw BundleError("\(path): part \(index + 1) is damaged") }
            guard let sealed = try handle.read(upToCount: length), sealed.count == length else { throw BundleError("\(path) is truncated") }
            let box = try ChaChaPoly.SealedBox(combined: sealed)
            var opened: Data?
            for final in [false, true] {
                if let plain = try? ChaChaPoly.open(box, using: key, authenticating: BundleFile.associatedData(header: headerLine, index: index, final: final)) {
                    opened = plain
                    sawFinal = final
                    break
                }
            }
            guard let compressed = opened else {
                throw BundleError("\(path): part \(index + 1) does not authenticate: the file was damaged or altered, or it was sealed with another key")
            }
            var buffer = ByteBuffer(bytes: compressed)
            let plain: ByteBuffer
            do { plain = try buffer.decompress(with: .gzip(), maxSize: BundleFile.maxChunk) } catch {
                throw BundleError("\(path): part \(index + 1) does not decompress")
            }
            try await body(Data(buffer: plain))
            index += 1
        }
        guard sawFinal else { throw BundleError("\(path) is truncated: its last part is missing") }
    }

    /// Every record, after a first pass has checked the whole file: a bundle is applied whole or not at all.
    static func records(_ path: String, headerLine: Data, key: SymmetricKey, _ body: (BundleRecord) async throws -> Void) async throws {
        try await chunks(path, headerLine: headerLine, key: key) { _ in }
        try await chunks(path, headerLine: headerLine, key: key) { plain in
            for line in plain.split(separator: 0x0A) where !line.isEmpty {
                let record: BundleRecord
                do { record = try JSONDecoder().decode(BundleRecord.self, from: Data(line)) } catch {
                    throw BundleError("\(path): a record does not decode: \(error)")
                }
                try await body(record)
            }
        }
    }
}
