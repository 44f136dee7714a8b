import BenchmarkSupport
import Foundation
import Logging
import TributaryCore
import TributaryEngine
import TributaryHTTP
import TributarySQL

/// Initial load: a generated OpenMRS database (patients, visits, encounters, obs) at a
/// PostgreSQL parent, loaded into a fresh PostgreSQL child (schema and core data) by
/// registration over HTTP; in the same run, `pg_dump --data-only | pg_restore` of the same
/// tables into an empty schema, as the baseline. Prints both times, the ratio, and the
/// process's peak RSS (both nodes run in this one process).
///
///     scripts/bench-load      (BENCH_PATIENTS, BENCH_OBS_PER_PATIENT size the volume)
@main
struct InitialLoad {
    static func main() async throws {
        let env = ProcessInfo.processInfo.environment
        guard let admin = env["TRIBUTARY_TEST_POSTGRES_URL"] else { print("needs TRIBUTARY_TEST_POSTGRES_URL; run scripts/bench-load"); return }
        let generator = VolumeGenerator(patients: Int(env["BENCH_PATIENTS"] ?? "") ?? 10_000,
                                        obsPerPatient: Int(env["BENCH_OBS_PER_PATIENT"] ?? "") ?? 100, prefix: "l\(getpid())")
        let tag = getpid()
        let sourceURL = try await createDatabase(admin, "load_source_\(tag)")
        let source = try await Databases.connect(sourceURL, logger: quiet())
        try await OpenMRSDatabaseLoader.load(.coreAndSampleData, into: source)
        print("generating \(generator.patients) patients with \(generator.obsPerPatient) obs each …")
        try await generator.write(into: source)
        let rows = try await totalRows(source)
        await source.close()
        print("source database: \(rows) rows in OpenMRS tables")

        let baseline = try await dumpAndRestore(admin: admin, sourceURL: sourceURL, tag: tag)
        print(String(format: "pg_dump --data-only | pg_restore: %.1f s", baseline))
        let (tributary, peak) = try await tributaryLoad(admin: admin, sourceURL: sourceURL, tag: tag)
        print(String(format: "Tributary initial load:          %.1f s (%.0f rows/s)", tributary, Double(rows) / tributary))
        print(String(format: "ratio Tributary / pg_dump+restore: %.2f (target ≤ 2.0)", tributary / baseline))
        print("peak RSS of the process running both nodes: \(peak / 1024) MB (target ≤ 150 MB per node)")
    }

    static func quiet() -> Logger { var l = Logger(label: "bench"); l.logLevel = .error; return l }

    static func createDatabase(_ admin: String, _ name: String) async throws -> String {
        let db = try await Databases.connect(admin, logger: quiet())
        try await db.execute(SQL(trusted: "DROP DATABASE IF EXISTS \(name)"))
        try await db.execute(SQL(trusted: "CREATE DATABASE \(name)"))
        await db.close()
        return String(admin[..<admin.lastIndex(of: "/")!]) + "/" + name
    }

    static func totalRows(_ db: any Database) async throws -> Int64 {
        var total: Int64 = 0
        for table in try await db.introspect().applicationTables.tables {
            total += try await db.scalar("SELECT COUNT(*) FROM \(ident: table.name)").int64 ?? 0
        }
        return total
    }

    /// Seconds for dump and restore of the OpenMRS tables' data into a schema-only database.
    static func dumpAndRestore(admin: String, sourceURL: String, tag: Int32) async throws -> Double {
        let targetURL = try await createDatabase(admin, "load_dump_\(tag)")
        let target = try await Databases.connect(targetURL, logger: quiet())
        try await OpenMRSDatabaseLoader.load(.schemaOnly, into: target)
        await target.close()
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("load_\(tag).dump").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        let start = ContinuousClock.now
        try run("/usr/lib/postgresql/15/bin/pg_dump", ["--data-only", "--format=custom", "--exclude-table=tributary_*", "--file=\(file)", "--dbname=\(sourceURL)"])
        try run("/usr/lib/postgresql/15/bin/pg_restore", ["--data-only", "--disable-triggers", "--dbname=\(targetURL)", file])
        return seconds(ContinuousClock.now - start)
    }

    /// Seconds from the child's registration to the end of its initial load, and peak RSS in KB.
    static func tributaryLoad(admin: String, sourceURL: String, tag: Int32) async throws -> (Double, Int) {
        let childURL = try await createDatabase(admin, "load_child_\(tag)")
        let childDB = try await Databases.connect(childURL, logger: quiet())
        try await OpenMRSDatabaseLoader.load(.coreData, into: childDB)
        await childDB.close()
        let parent = try await SyncNode.open(try NodeConfiguration.parse(
            "node: { id: central, group: central }\ndatabase: \(sourceURL)\nregistration: { tokens: [bench] }\n"), logger: quiet())
        let child = try await SyncNode.open(try NodeConfiguration.parse(
            "node: { id: clinic-1, group: clinic }\ndatabase: \(childURL)\nparent: { url: 'http://127.0.0.1:1', registration_token: bench }\n"), logger: quiet())
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = SyncServer.application(for: parent, host: "127.0.0.1", port: 0, logger: quiet()) { continuation.yield($0) }
        let elapsed = try await withThrowingTaskGroup(of: Double?.self) { group in
            group.addTask { try await app.runService(); return nil }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { throw GeneratorError("server did not start") }
            let client = SyncClient(node: child, parentURL: "http://127.0.0.1:\(port)", logger: quiet())
            let start = ContinuousClock.now
            if ProcessInfo.processInfo.environment["BENCH_PHASES"] != nil {
                // Where the time goes, without HTTP (the load down; registration first).
                let register = try await ContinuousClock().measure { _ = try await client.ensureRegistered() }
                print("phases: register \(register), \(try await Phases.measure(from: parent, to: child))")
            }
            while try await child.initialLoadState() != .done {
                let report = try await client.round()
                if !report.failures.isEmpty { throw GeneratorError("initial load failed: \(report.failures)") }
            }
            let elapsed = seconds(ContinuousClock.now - start)
            await client.shutdown()
            group.cancelAll()
            return elapsed
        }
        let peak = PeakRSS.kilobytes()  // before the check below, which reads both databases whole
        let differences = try await TableSnapshot.differences(parent, child)
        if !differences.isEmpty {
            for (name, node) in [("parent", parent), ("child", child)] {
                let facts = try await node.database.query("""
                    SELECT (SELECT COUNT(*) FROM tributary_change WHERE target_node IS NOT NULL) AS snapshot_rows,
                           (SELECT MAX(change_id) FROM tributary_change) AS last_change,
                           (SELECT last_change_id FROM tributary_router) AS routed,
                           (SELECT COUNT(*) FROM tributary_outgoing_batch WHERE status = 'pending') AS pending,
                           (SELECT COUNT(*) FROM tributary_outgoing_batch) AS batches,
                           (SELECT COUNT(*) FROM tributary_incoming_batch) AS incoming
                    """).first!
                FileHandle.standardError.write(Data((name + " " + facts.columns.map { "\($0)=\(facts[$0])" }.joined(separator: " ") + "\n").utf8))
            }
            throw GeneratorError("child differs after the load: \(differences.count): \(differences.prefix(3))")
        }
        await parent.close()
        await child.close()
        return (elapsed, peak)
    }

    static func run(_ tool: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw GeneratorError("\(tool) exited with \(process.terminationStatus)") }
    }

    static func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }

}
