import Foundation
import TributaryCore
import TributaryEngine
import TributaryOpenMRS
import TributarySQL

/// Capture overhead: the OpenMRS write mix against the same database kind with and
/// without Tributary's capture triggers, measured in the same run, rounds interleaved
/// so that drift in the machine's load hits both sides alike.
///
///     scripts/bench            (starts the servers, builds in release, runs this)
@main
struct CaptureOverhead {
    static func main() async throws {
        let env = ProcessInfo.processInfo.environment
        let patients = Int(env["BENCH_PATIENTS"] ?? "") ?? 200
        let rounds = Int(env["BENCH_ROUNDS"] ?? "") ?? 3
        var targets: [(String, String)] = []
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tributary-bench-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        targets.append(("sqlite", "sqlite:" + dir.path))
        if let url = env["TRIBUTARY_TEST_POSTGRES_URL"] { targets.append(("postgres", url)) }
        if let url = env["TRIBUTARY_TEST_MYSQL_URL"] { targets.append(("mariadb", url)) }

        print("Capture overhead: OpenMRS write mix, \(patients) patients x \(rounds) rounds per side, \(OpenMRSWriteMix.rowsPerPatient) rows per transaction")
        print("database      plain patients/s   capture patients/s   ratio (capture/plain)")
        for (name, adminURL) in targets {
            let plain = try await makeDatabase(name, adminURL, suffix: "plain", capture: false)
            let captured = try await makeDatabase(name, adminURL, suffix: "capture", capture: true)
            let mixPlain = try await OpenMRSWriteMix.prepare(plain)
            let mixCaptured = try await OpenMRSWriteMix.prepare(captured)
            // Warm-up: caches, statement plans, connection pools.
            for i in 0..<10 { try await mixPlain.writePatient(plain, number: -i); try await mixCaptured.writePatient(captured, number: -i) }
            var plainSeconds = 0.0, capturedSeconds = 0.0
            for round in 0..<rounds {
                plainSeconds += try await time { for i in 0..<patients { try await mixPlain.writePatient(plain, number: round * patients + i) } }
                capturedSeconds += try await time { for i in 0..<patients { try await mixCaptured.writePatient(captured, number: round * patients + i) } }
            }
            let total = Double(patients * rounds)
            let changes = try await ChangeLog.count(captured)
            let expected = Int64((patients * rounds + 10) * OpenMRSWriteMix.rowsPerPatient)
            guard changes == expected else { throw BenchmarkError("\(name): captured \(changes) changes, expected \(expected)") }
            let plainRate = total / plainSeconds, capturedRate = total / capturedSeconds
            print(name.padding(toLength: 12, withPad: " ", startingAt: 0)
                  + String(format: "%18.1f %20.1f %11.2f", plainRate, capturedRate, capturedRate / plainRate))
            await plain.close()
            await captured.close()
        }
        try? FileManager.default.removeItem(at: dir)
    }

    static func time(_ body: @Sendable () async throws -> Void) async throws -> Double {
        let start = ContinuousClock.now
        try await body()
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    /// A new database of the kind, loaded with the OpenMRS kit, with or without capture.
    static func makeDatabase(_ name: String, _ adminURL: String, suffix: String, capture: Bool) async throws -> any Database {
        let dbName = "bench_\(suffix)_\(getpid())"
        let url: String
        switch try DatabaseURL(adminURL) {
        case .sqlite(let dir):
            url = "sqlite:\(dir)/\(dbName).db"
        case .postgres(let e):
            let admin = try await Databases.connect(adminURL)
            try await admin.execute(SQL(trusted: "DROP DATABASE IF EXISTS \(dbName)"))
            try await admin.execute(SQL(trusted: "CREATE DATABASE \(dbName)"))
            await admin.close()
            url = "postgres://\(e.user)\(e.password.map { ":" + $0 } ?? "")@\(e.host):\(e.port)/\(dbName)"
        case .mysql(let e):
            let admin = try await Databases.connect(adminURL)
            try await admin.execute(SQL(trusted: "DROP DATABASE IF EXISTS \(dbName)"))
            try await admin.execute(SQL(trusted: "CREATE DATABASE \(dbName) CHARACTER SET utf8mb4"))
            await admin.close()
            url = "mysql://\(e.user)\(e.password.map { ":" + $0 } ?? "")@\(e.host):\(e.port)/\(dbName)"
        }
        let database = try await Databases.connect(url)
        try await OpenMRSDatabaseLoader.load(.coreAndSampleData, into: database)
        if capture {
            let catalog = TableCatalog(schema: try await database.introspect(), profile: OpenMRSProfile())
            try await Capture(database: database).reconcile(catalog)
        }
        return database
    }
}
