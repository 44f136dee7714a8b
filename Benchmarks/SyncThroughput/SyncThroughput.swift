import BenchmarkSupport
import Foundation
import Logging
import TributaryCore
import TributaryEngine
import TributaryHTTP
import TributarySQL

/// Sync throughput: a clinical volume created at a child (MariaDB or PostgreSQL) and the
/// time until a PostgreSQL parent has applied it over HTTP, in rows/s; in the same run, the
/// same volume through PostgreSQL's own logical replication between two clusters.
/// BENCH_BATCH_SIZE sets the child's `sync.batch_size` (default 2,000), BENCH_REPLICA_COPY the
/// parent's `sync.replica_copy`. Prints the peak RSS of
/// the process (both nodes) while syncing, the generator's writing left out.
///
///     scripts/bench-sync      (starts the servers, builds in release, runs this)
@main
struct SyncThroughput {
    static func main() async throws {
        let env = ProcessInfo.processInfo.environment
        guard let pg = env["TRIBUTARY_TEST_POSTGRES_URL"], let pg2 = env["BENCH_PG2_URL"] else {
            print("needs TRIBUTARY_TEST_POSTGRES_URL and BENCH_PG2_URL (two PostgreSQL clusters with wal_level=logical); run scripts/bench-sync")
            return
        }
        let obs = Int(env["BENCH_OBS"] ?? "") ?? 100_000
        let perPatient = 50
        let childKind = env["BENCH_CHILD"] ?? (env["TRIBUTARY_TEST_MYSQL_URL"] != nil ? "mariadb" : "postgres")
        let childAdmin = childKind == "mariadb" ? env["TRIBUTARY_TEST_MYSQL_URL"]! : pg
        let generator = VolumeGenerator(patients: max(1, obs / perPatient), obsPerPatient: perPatient, prefix: "b\(getpid())")
        let rows = generator.patients * generator.rowsPerPatient
        print("Sync throughput: \(generator.patients) patients, \(generator.patients * perPatient) obs, \(rows) rows in all; child \(childKind), parent postgres")

        let tributary = try await measureTributary(generator: generator, parentAdmin: pg, childAdmin: childAdmin)
        if env["BENCH_PHASES"] != nil { return }
        if env["BENCH_TRIBUTARY_ONLY"] != nil {
            print(String(format: "Tributary: %.1f s, %.0f rows/s", tributary, Double(rows) / tributary))
            return
        }
        let logical = try await measureLogicalReplication(generator: generator, publisherAdmin: pg, subscriberAdmin: pg2)
        print("system                       seconds      rows/s")
        print(String(format: "PostgreSQL logical repl. %11.1f %11.0f", logical, Double(rows) / logical))
        print(String(format: "Tributary (%@ → pg) %11.1f %11.0f", childKind == "mariadb" ? "maria" : "pg   ", tributary, Double(rows) / tributary))
        print(String(format: "ratio Tributary / logical replication: %.2f", logical / tributary))
    }

    static func quietLogger() -> Logger { var l = Logger(label: "bench"); l.logLevel = .error; return l }

    static func createDatabase(_ admin: String, _ name: String) async throws -> String {
        let db = try await Databases.connect(admin, logger: quietLogger())
        try await db.execute(SQL(trusted: "DROP DATABASE IF EXISTS \(name)"))
        try await db.execute(SQL(trusted: admin.hasPrefix("mysql") ? "CREATE DATABASE \(name) CHARACTER SET utf8mb4" : "CREATE DATABASE \(name)"))
        await db.close()
        guard let slash = admin.lastIndex(of: "/") else { throw GeneratorError("bad URL \(admin)") }
        return String(admin[..<slash]) + "/" + name
    }

    static func measureTributary(generator: VolumeGenerator, parentAdmin: String, childAdmin: String) async throws -> Double {
        let parentURL = try await createDatabase(parentAdmin, "bench_parent_\(getpid())")
        let childURL = try await createDatabase(childAdmin, "bench_child_\(getpid())")
        for url in [parentURL, childURL] {
            let db = try await Databases.connect(url, logger: quietLogger())
            try await OpenMRSDatabaseLoader.load(.coreAndSampleData, into: db)
            await db.close()
        }
        let parent = try await SyncNode.open(try NodeConfiguration.parse(
            "node: { id: central, group: central }\ndatabase: \(parentURL)\nregistration: { tokens: [bench] }\n"
            + (ProcessInfo.processInfo.environment["BENCH_REPLICA_COPY"].map { "sync: { replica_copy: \($0) }\n" } ?? "")), logger: quietLogger())
        let child = try await SyncNode.open(try NodeConfiguration.parse(
            "node: { id: clinic-1, group: clinic }\ndatabase: \(childURL)\nparent: { url: 'http://127.0.0.1:1', registration_token: bench }\n"
            + (ProcessInfo.processInfo.environment["BENCH_BATCH_SIZE"].map { "sync: { batch_size: \($0) }\n" } ?? "")),
            logger: quietLogger())
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = SyncServer.application(for: parent, host: "127.0.0.1", port: 0, logger: quietLogger()) { continuation.yield($0) }
        let seconds = try await withThrowingTaskGroup(of: Double?.self) { group in
            group.addTask { try await app.runService(); return nil }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { throw GeneratorError("server did not start") }
            let client = SyncClient(node: child, parentURL: "http://127.0.0.1:\(port)", logger: quietLogger())
            _ = try await client.ensureRegistered()
            // Registration queues the child's initial load; it is not part of what is measured.
            while true {
                let report = try await client.round()
                if report.pushed == 0, report.pulled == 0 { break }
            }
            try await generator.write(into: child.database)
            PeakRSS.reset()
            let start = ContinuousClock.now
            if ProcessInfo.processInfo.environment["BENCH_PHASES"] != nil {
                print("phases: \(try await Phases.measure(from: child, to: parent))")
            }
            while true {
                let report = try await client.round()
                if !report.failures.isEmpty { throw GeneratorError("sync failed: \(report.failures)") }
                if report.pushed == 0 { break }
            }
            let elapsed = ContinuousClock.now - start
            print("bytes on the wire (gzip): sent \(client.bytesSent.value), received \(client.bytesReceived.value)")
            print("peak RSS while syncing (both nodes, one process): \(PeakRSS.kilobytes() / 1024) MB")
            print("rows copied at the parent as a replica session: \(parent.rowsCopiedAsReplica)")
            await client.shutdown()
            group.cancelAll()
            return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        }
        let expected = Int64(generator.patients * generator.obsPerPatient)
        let got = try await parent.database.scalar("SELECT COUNT(*) FROM obs WHERE uuid LIKE \(generator.prefix + "%")").int64
        guard got == expected else { throw GeneratorError("parent has \(got ?? -1) obs, expected \(expected)") }
        await parent.close()
        await child.close()
        return seconds ?? 0
    }

    static func measureLogicalReplication(generator: VolumeGenerator, publisherAdmin: String, subscriberAdmin: String) async throws -> Double {
        let name = "bench_logical_\(getpid())"
        let publisherURL = try await createDatabase(publisherAdmin, name)
        let subscriberURL = try await createDatabase(subscriberAdmin, name)
        let publisher = try await Databases.connect(publisherURL, logger: quietLogger())
        let subscriber = try await Databases.connect(subscriberURL, logger: quietLogger())
        try await OpenMRSDatabaseLoader.load(.coreAndSampleData, into: publisher)
        try await OpenMRSDatabaseLoader.load(.coreAndSampleData, into: subscriber)
        let tables = "person, patient, visit, encounter, obs"
        try await publisher.execute(SQL(trusted: "CREATE PUBLICATION \(name) FOR TABLE \(tables)"))
        guard case .postgres(let e) = try DatabaseURL(publisherURL) else { throw GeneratorError("publisher is not PostgreSQL") }
        try await subscriber.execute(SQL(trusted: """
            CREATE SUBSCRIPTION \(name) CONNECTION 'host=\(e.host) port=\(e.port) dbname=\(name) user=\(e.user)'
            PUBLICATION \(name) WITH (copy_data = false, enabled = false)
            """))
        try await generator.write(into: publisher)
        let expected = Int64(generator.patients * generator.obsPerPatient)
        let start = ContinuousClock.now
        try await subscriber.execute(SQL(trusted: "ALTER SUBSCRIPTION \(name) ENABLE"))
        while try await subscriber.scalar("SELECT COUNT(*) FROM obs WHERE uuid LIKE \(generator.prefix + "%")").int64 ?? 0 < expected {
            try await Task.sleep(for: .milliseconds(20))
        }
        let elapsed = ContinuousClock.now - start
        try await subscriber.execute(SQL(trusted: "ALTER SUBSCRIPTION \(name) DISABLE"))
        try await subscriber.execute(SQL(trusted: "ALTER SUBSCRIPTION \(name) SET (slot_name = NONE)"))
        try await subscriber.execute(SQL(trusted: "DROP SUBSCRIPTION \(name)"))
        _ = try? await publisher.query(SQL(trusted: "SELECT pg_drop_replication_slot('\(name)')"))
        await publisher.close()
        await subscriber.close()
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }
}
