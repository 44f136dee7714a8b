import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Hummingbird
import Logging
import TributaryEngine
import TributaryHTTP

/// Runs a node's HTTP server on a free loopback port for the duration of `body`.
func withServer<T: Sendable>(_ node: SyncNode, _ body: @Sendable (String) async throws -> T) async throws -> T {
    let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
    var logger = Logger(label: "test.http")
    logger.logLevel = .error
    let app = SyncServer.application(for: node, host: "127.0.0.1", port: 0, logger: logger) { port in continuation.yield(port) }
    return try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await app.runService(); return nil }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw TestFailure("server did not start") }
        let result = try await body("http://127.0.0.1:\(port)")
        group.cancelAll()
        return result
    }
}

/// A raw HTTP request to a node, for the tests that send what a client never would.
func rawRequest(_ url: String, method: String = "POST", headers: [String: String] = [:], body: Data? = nil) async throws -> (Int, String) {
    var request = URLRequest(url: URL(string: url)!)
    request.httpMethod = method
    for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
    request.httpBody = body
    let (data, response) = try await URLSession.shared.data(for: request)
    return ((response as? HTTPURLResponse)?.statusCode ?? -1, String(decoding: data, as: UTF8.self))
}

/// A child that reaches `parent` over real HTTP, registered (with the tests' token) and
/// loaded before `body` gets its client.
func withLoadedHTTPChild<T: Sendable>(_ child: SyncNode, of parent: SyncNode,
                                      _ body: @Sendable (SyncClient) async throws -> T) async throws -> T {
    let logger = { var l = Logger(label: "test.client"); l.logLevel = .critical; return l }()
    return try await withServer(parent) { url in
        let client = SyncClient(node: child, parentURL: url, logger: logger)
        defer { Task { await client.shutdown() } }
        var rounds = 0
        while try await child.initialLoadState() != .done, rounds < 6 { _ = try await client.round(); rounds += 1 }
        guard try await child.initialLoadState() == .done else { throw TestFailure("\(child.id)'s initial load did not finish") }
        return try await body(client)
    }
}

/// What a child's configuration adds to reach a parent given later (`withLoadedHTTPChild`).
let httpChildExtra = "parent:\n  url: http://127.0.0.1:1\n  registration_token: test-token\n"
