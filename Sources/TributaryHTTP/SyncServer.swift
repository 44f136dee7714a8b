import Foundation
import Hummingbird
import Logging
import NIOCore
import TributaryCore
import TributaryEngine

/// The parent side of the node protocol: registration, batches pushed by children,
/// batches pulled by children, and their acknowledgments. Every route but registration
/// answers only a registered child presenting its secret.
public enum SyncServer {
    public static func router(for node: SyncNode) -> Hummingbird.Router<BasicRequestContext> {
        let router = Hummingbird.Router()
        router.get("/health") { _, _ in "ok" }

        router.post(RouterPath(stringLiteral: Wire.register)) { request, context -> Response in
            guard let body = try? await request.body.collect(upTo: 64 * 1024),
                  let registration = try? JSONDecoder().decode(RegistrationRequest.self, from: Data(buffer: body)) else {
                return failure(.badRequest, "a registration needs node_id, group and token")
            }
            switch try await node.register(registration) {
            case .accepted(let response): return try json(response)
            case .pending(let reason): return failure(.accepted, reason)
            case .refused(let reason): return failure(.forbidden, reason)
            }
        }

        router.post(RouterPath(stringLiteral: Wire.batches)) { request, context -> Response in
            guard let child = try await authenticate(request, node) else { return failure(.unauthorized, "unknown node, wrong secret, or node revoked") }
            let raw: ByteBuffer
            do { raw = try await request.body.collect(upTo: Wire.maxBody) } catch {
                return failure(.contentTooLarge, "a batch may be at most \(Wire.maxBody) bytes")
            }
            let data: Data
            if request.headers[.contentEncoding] == BodyCompression.gzip {
                do { data = try BodyCompression.decompress(raw, limit: Wire.maxBody) } catch BodyCompression.BodyError.tooLarge(let limit) {
                    return failure(.contentTooLarge, "a batch may be at most \(limit) bytes once inflated")
                } catch { return failure(.badRequest, "\(error)") }
            } else {
                data = Data(buffer: raw)
            }
            let batch: Batch
            do { batch = try BatchCodec.decode(data) } catch { return failure(.badRequest, "\(error)") }
            guard batch.header.source == child, batch.header.target == node.id else {
                return failure(.forbidden, "batch \(batch.header.batchID) is from \(batch.header.source) to \(batch.header.target); you are \(child), this is \(node.id)")
            }
            return try json(await node.apply(batch))
        }

        router.get(RouterPath(stringLiteral: Wire.batches)) { request, context -> Response in
            guard let child = try await authenticate(request, node) else { return failure(.unauthorized, "unknown node, wrong secret, or node revoked") }
            let excluded = Set((request.uri.queryParameters["exclude"].map(String.init) ?? "").split(separator: ",").map(String.init))
            try await node.route()
            // A batch that failed at the child lately waits out its back-off, holding its channel.
            var candidates = node.due(try await node.pending(for: child, excluding: excluded))[...]
            // `after=ID`: the child is still applying batch ID and asks for the one that follows it.
            if let after = request.uri.queryParameters["after"].flatMap({ Int64(String($0)) }),
               let position = candidates.firstIndex(where: { $0.batchID == after }) {
                candidates = candidates[(position + 1)...]
            }
            // A batch that cannot be built holds back its own channel only (recorded on the batch).
            guard let (_, batch) = await node.firstBuildable(candidates) else { return Response(status: .noContent) }
            let body = try BatchCodec.encode(batch)
            if (request.headers[.acceptEncoding] ?? "").contains(BodyCompression.gzip) {
                return Response(status: .ok, headers: [.contentType: "application/x-ndjson", .contentEncoding: BodyCompression.gzip],
                                body: .init(byteBuffer: try BodyCompression.compress(body)))
            }
            return Response(status: .ok, headers: [.contentType: "application/x-ndjson"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }

        router.get(RouterPath(stringLiteral: Wire.settings)) { request, context -> Response in
            guard try await authenticate(request, node) != nil else { return failure(.unauthorized, "unknown node, wrong secret, or node revoked") }
            try await node.refreshSettings()
            return try json(node.settingsDocument())
        }

        router.post(RouterPath(stringLiteral: Wire.acks)) { request, context -> Response in
            guard let child = try await authenticate(request, node) else { return failure(.unauthorized, "unknown node, wrong secret, or node revoked") }
            guard let body = try? await request.body.collect(upTo: 1024 * 1024),
                  let ack = try? JSONDecoder().decode(Ack.self, from: Data(buffer: body)) else {
                return failure(.badRequest, "not an acknowledgment")
            }
            guard try await node.record(ack, from: child) else { return failure(.notFound, "no pending batch \(ack.batchID) for \(child)") }
            return Response(status: .noContent)
        }
        return router
    }

    public static func application(for node: SyncNode, host: String, port: Int, logger: Logger,
                                   onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        Application(router: router(for: node), configuration: .init(address: .hostname(host, port: port), serverName: "tributary"),
                    onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) }, logger: logger)
    }

    static func authenticate(_ request: Request, _ node: SyncNode) async throws -> NodeID? {
        guard let id = request.headers[Wire.node], let authorization = request.headers[.authorization],
              authorization.hasPrefix("Bearer ") else { return nil }
        let child = NodeID(id)
        return try await node.authenticate(node: child, secret: String(authorization.dropFirst(7))) ? child : nil
    }

    static func json(_ value: some Encodable) throws -> Response {
        let data = try JSONEncoder().encode(value)
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func failure(_ status: HTTPResponse.Status, _ message: String) -> Response {
        let data = (try? JSONEncoder().encode(Wire.ErrorBody(error: message))) ?? Data()
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
