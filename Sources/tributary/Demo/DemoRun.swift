import Foundation
import TributaryCore
import TributaryEngine
import TributaryHTTP
import TributarySQL

/// What the demo does with its running tree: rounds until quiet, edits, checks.
struct DemoRun {
    let nodes: [String: SyncNode]
    let clients: [(String, SyncClient)]

    static func count(_ node: SyncNode, _ table: String) async throws -> Int64 {
        try await node.database.scalar("SELECT COUNT(*) FROM \(ident: table)").int64 ?? 0
    }

    /// Rounds (district first, then the clinics, as their sync loops would) until a full
    /// pass moves nothing and every initial load is done. Returns the number of passes.
    @discardableResult
    func converge(maxPasses: Int = 60) async throws -> Int {
        for pass in 1...maxPasses {
            var moved = 0
            for (id, client) in clients {
                let report = try await client.round()
                for failure in report.failures { print("  \(id): \(failure)") }
                moved += report.pushed + report.pulled
            }
            var loading = false
            for (id, _) in clients where try await nodes[id]!.initialLoadState() != .done { loading = true }
            if moved == 0 && !loading { return pass }
        }
        throw DemoError("the tree did not settle in \(maxPasses) rounds")
    }

    func editAndShow() async throws {
        let person = UUID().uuidString.lowercased()
        let clinic = nodes["clinic-1"]!, central = nodes["central"]!
        let t = "'2026-11-22 10:00:00'"
        print("\nAt clinic-1, by plain SQL: a new patient, Amina Okello.")
        try await clinic.database.executeScript("""
            INSERT INTO person (gender, birthdate, creator, date_created, voided, uuid) VALUES ('F', '1990-04-01', 1, \(t), 0, '\(person)');
            INSERT INTO person_name (person_id, given_name, family_name, preferred, creator, date_created, voided, uuid)
              VALUES ((SELECT person_id FROM person WHERE uuid = '\(person)'), 'Amina', 'Okello', 1, 1, \(t), 0, '\(UUID().uuidString.lowercased())');
            INSERT INTO patient (patient_id, creator, date_created, voided, allergy_status)
              VALUES ((SELECT person_id FROM person WHERE uuid = '\(person)'), 1, \(t), 0, 'Unknown');
            """)
        let location = try await central.database.scalar("SELECT uuid FROM location ORDER BY location_id LIMIT 1").string ?? ""
        print("At central, by plain SQL: the first location renamed to 'Central Hospital (renamed)'.")
        try await central.database.execute("UPDATE location SET name = 'Central Hospital (renamed)' WHERE uuid = \(location)")
        let rounds = try await converge()
        print("After \(rounds) round(s):")
        for id in ["central", "district", "clinic-1", "clinic-2"] {
            let node = nodes[id]!
            let name = try await node.database.scalar("""
                SELECT n.given_name || ' ' || n.family_name FROM person_name n JOIN person p ON p.person_id = n.person_id WHERE p.uuid = \(person)
                """).string ?? "(missing)"
            let place = try await node.database.scalar("SELECT name FROM location WHERE uuid = \(location)").string ?? "(missing)"
            let localID = try await node.database.scalar("SELECT person_id FROM person WHERE uuid = \(person)").int64.map(String.init) ?? "-"
            print("  \(id.padding(toLength: 9, withPad: " ", startingAt: 0)) patient: \(name) (local person_id \(localID)) · location: \(place)")
        }
    }

    /// Every node holds the central's rows, table by table, by sync key.
    func verify() async throws {
        let central = nodes["central"]!
        var total = 0
        for id in ["district", "clinic-1", "clinic-2"] {
            let differences = try await TableSnapshot.differences(central, nodes[id]!)
            total += differences.count
            if !differences.isEmpty { print("  \(id) differs from central: \(differences.prefix(3).joined(separator: "; "))") }
        }
        guard total == 0 else { throw DemoError("the nodes did not converge (\(total) differences)") }
        let echoes = try await nodes.values.asyncCount { node in
            try await node.database.scalar("SELECT COUNT(*) FROM tributary_change WHERE source_node IS NOT NULL AND origin_node = \(node.id.rawValue)").int64 ?? 0
        }
        print("\nConverged: all four databases hold the same rows in all \(central.catalog.synced.count) synced tables (compared by sync key); \(echoes) change(s) came back to where they were made.")
    }

    func runUntilInterrupted() async throws {
        print("\nRunning: each child syncs every second. Edit any of the databases and watch. Ctrl-C stops.")
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT)
        let (stops, stop) = AsyncStream.makeStream(of: Void.self)
        source.setEventHandler { stop.yield(); stop.finish() }
        source.resume()
        let loop = Task {
            while !Task.isCancelled {
                for (id, client) in clients {
                    do {
                        let report = try await client.round()
                        if report.pushed + report.pulled > 0 { print("  \(id): \(report)") }
                    } catch { print("  \(id): \(error)") }
                }
                try? await Task.sleep(for: .seconds(1))
            }
        }
        for await _ in stops { break }
        loop.cancel()
        _ = await loop.result
        print("\nStopped.")
    }
}

extension Collection where Element: Sendable {
    func asyncCount(_ count: (Element) async throws -> Int64) async rethrows -> Int64 {
        var total: Int64 = 0
        for element in self { total += try await count(element) }
        return total
    }
}
