import CompressNIO
import Foundation
import NIOCore

/// Batches travel gzip-compressed (`Content-Encoding: gzip`): OpenMRS rows are uuids, dates
/// and repeated column names, which compress several-fold on slow clinic links.
enum BodyCompression {
    static let gzip = "gzip"

    static func compress(_ data: Data) throws -> ByteBuffer {
        var plain = ByteBuffer(bytes: data)
        return try plain.compress(with: .gzip)
    }

    /// Inflates at most `limit` bytes, so that a small hostile body cannot expand without bound.
    static func decompress(_ buffer: ByteBuffer, limit: Int) throws -> Data {
        var compressed = buffer
        let decompressor = CompressionAlgorithm.gzip().decompressor
        decompressor.window = ByteBufferAllocator().buffer(capacity: 64 * 1024)
        var inflated = Data()
        do {
            try decompressor.startStream()
            try compressed.decompressStream(with: decompressor) { chunk in
                inflated.append(contentsOf: chunk.readableBytesView)
                if inflated.count > limit { throw BodyError.tooLarge(limit) }
            }
            try decompressor.finishStream()
        } catch let error as BodyError {
            throw error
        } catch {
            throw BodyError.corrupt("\(error)")
        }
        return inflated
    }

    enum BodyError: Error, CustomStringConvertible {
        case tooLarge(Int), corrupt(String)
        var description: String {
            switch self {
            case .tooLarge(let limit): "the body inflates to more than \(limit) bytes"
            case .corrupt(let cause): "the gzip body is corrupt: \(cause)"
            }
        }
    }
}

/// A running byte total shared between tasks.
public final class ByteCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var total = 0
    public init() {}
    public func add(_ bytes: Int) { lock.withLock { total += bytes } }
    public var value: Int { lock.withLock { total } }
}
