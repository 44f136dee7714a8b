import Foundation
import Testing
import TributaryEngine
import TributaryOpenMRS
import TributarySQL

/// The three real databases the suite runs against. PostgreSQL and MariaDB come from
/// `scripts/test` (TRIBUTARY_TEST_POSTGRES_URL, TRIBUTARY_TEST_MYSQL_URL); under CI=true
/// a missing server fails its tests instead of leaving them out.
enum TestDatabase: String, CaseIterable, CustomStringConvertible, Sendable {
    case sqlite, postgres, mariadb

    var description: String { rawValue }

    static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    var adminURL: String? {
        switch self {
        case .sqlite: "sqlite:/"
        case .postgres: ProcessInfo.processInfo.environment["TRIBUTARY_TEST_POSTGRES_URL"]
        case .mariadb: ProcessInfo.processInfo.environment["TRIBUTARY_TEST_MYSQL_URL"]
        }
    }

    /// Every database with a server to test against (all three in CI, where a missing one fails).
    static var all: [TestDatabase] { allCases.filter { $0.adminURL != nil || isCI } }

    var kitDialect: OpenMRSKit.Dialect {
        switch self {
        case .sqlite: .sqlite
        case .postgres: .postgres
        case .mariadb: .mysql
        }
    }

    /// A new, empty database of this kind, optionally loaded with the OpenMRS kit by the
    /// database's own command-line client.
    func fresh(_ contents: OpenMRSDatabaseLoader.Contents? = .coreAndSampleData) async throws -> TestNode {
        guard let adminURL else {
            throw TestFailure("\(self): no server (TRIBUTARY_TEST_\(self == .postgres ? "POSTGRES" : "MYSQL")_URL is unset; run scripts/test)")
        }
        let name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
        let url: String
        switch try DatabaseURL(adminURL) {
        case .sqlite:
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tributary-tests", isDirectory: true)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            url = "sqlite:" + dir.appendingPathComponent("\(name).db").path
        case .postgres(let e):
            let admin = try await Databases.connect(adminURL)
            try await admin.execute(SQL(trusted: "CREATE DATABASE \(name)"))
            await admin.close()
            url = "postgres://\(e.user)@\(e.host):\(e.port)/\(name)"
        case .mysql(let e):
            let admin = try await Databases.connect(adminURL)
            try await admin.execute(SQL(trusted: "CREATE DATABASE \(name) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"))
            await admin.close()
            url = "mysql://\(e.user)@\(e.host):\(e.port)/\(name)"
        }
        let node = TestNode(kind: self, url: url, database: try await Databases.connect(url))
        if let contents {
            var parts: [OpenMRSKit.Part] = [.schema]
            if contents != .schemaOnly { parts.append(.coreData) }
            if contents == .coreAndSampleData { parts.append(.sampleData) }
            for part in parts { try node.client(file: OpenMRSKit.url(part, kitDialect)) }
        }
        return node
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// One test database: Tributary's connection to it, and its own command-line client.
struct TestNode: Sendable {
    let kind: TestDatabase
    let url: String
    let database: any Database

    /// Runs SQL through the database's ordinary client (sqlite3, psql, mariadb), as a
    /// person at the console would: nothing of Tributary's is involved.
    func client(_ script: String) throws {
        try runClient(input: Data(script.utf8))
    }

    func client(file: URL) throws {
        try runClient(input: try Data(contentsOf: file))
    }

    /// The client started on `script` and left running (a long transaction); wait for it with
    /// `waitUntilExit`.
    func clientInBackground(_ script: String) throws -> Process {
        let process = try clientProcess()
        let stdin = Pipe()
        process.standardInput = stdin
        process.standardError = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        try stdin.fileHandleForWriting.write(contentsOf: Data(script.utf8))
        try stdin.fileHandleForWriting.close()
        return process
    }

    private func clientProcess() throws -> Process {
        let process = Process()
        switch try DatabaseURL(url) {
        case .sqlite(let path):
            process.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
            process.arguments = ["-bail", path]
        case .postgres:
            process.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
            process.arguments = ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url.replacingOccurrences(of: "postgres://", with: "postgresql://")]
        case .mysql(let e):
            process.executableURL = URL(fileURLWithPath: "/usr/bin/mariadb")
            process.arguments = ["--no-defaults", "-h", e.host, "-P", String(e.port), "-u", e.user,
                                 "--default-character-set=utf8mb4", e.database]
        }
        return process
    }

    private func runClient(input: Data) throws {
        let process = try clientProcess()
        let stdin = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardError = stderr
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        // A client that stops early (it could not connect) closes the pipe: say what it said
        // rather than crash the whole test run on the write.
        var writeFailure: (any Error)?
        do { try stdin.fileHandleForWriting.write(contentsOf: input) } catch { writeFailure = error }
        try? stdin.fileHandleForWriting.close()
        let errors = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0, writeFailure == nil else {
            throw TestFailure("\(kind) client failed (\(process.terminationStatus)\(writeFailure.map { ", writing its input: \($0)" } ?? "")): \(String(decoding: errors, as: UTF8.self))")
        }
    }

    func close() async { await database.close() }
}
