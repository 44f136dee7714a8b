import Foundation
import Logging
import Testing
import TributaryCore
import TributaryEngine
import TributaryHTTP
import TributarySQL

/// `tributary nodes --revoke`: a revoked child's requests are refused from then on, what
/// waits for it is kept, and registering the id again (with a token) gives it back to a node.
@Suite struct RevocationTests {
    @Test(arguments: TestDatabase.all)
    func aRevokedChildIsRefusedAndItsPendingBatchesAreKept(on kind: TestDatabase) async throws {
        let (parent, parentDB) = try await TestTree.node("district", group: "district", on: kind, contents: .coreData)
        let (child, _) = try await TestTree.node("clinic-1", group: "clinic", on: .sqlite, contents: .coreData,
                                                 extra: httpChildExtra)
        defer { Task { await parent.close(); await child.close() } }
        try await withLoadedHTTPChild(child, of: parent) { client in
            let (oldParent, oldSecret) = try #require(try await child.credentials())
            #expect(oldParent == parent.id)

            #expect(try await parent.revoke(child.id))
            try parentDB.client("UPDATE location SET name = 'Renamed after the revocation' WHERE location_id = (SELECT MIN(location_id) FROM (SELECT location_id FROM location) l);")
            try await parent.route()
            let pending = try await parent.pending(for: child.id).count
            #expect(pending > 0)
            await #expect { _ = try await client.round() } throws: { "\($0)".contains("revoked") || "\($0)".contains("401") }
            #expect(try await parent.authenticate(node: child.id, secret: oldSecret) == false)
            #expect(try await parent.pending(for: child.id).count == pending, "kept for a re-registration")

            // Listed as revoked, from the command line too.
            let listed = try await parent.registeredNodes()
            #expect(listed.map(\.node) == ["clinic-1"] && listed[0].revoked && listed[0].outgoingPending == Int64(pending))

            // Without a token the id stays revoked; with one it is registered again under a new secret.
            guard case .refused = try await parent.register(RegistrationRequest(nodeID: child.id, group: "clinic", token: nil, claim: Secrets.make())) else {
                Issue.record("a revoked id was given back without a token"); return
            }
            guard case .accepted(let again) = try await parent.register(
                RegistrationRequest(nodeID: child.id, group: "clinic", token: "test-token", claim: Secrets.make())) else {
                Issue.record("registering the revoked id again with a token was refused"); return
            }
            #expect(try await parent.authenticate(node: child.id, secret: again.secret))
            #expect(try await parent.authenticate(node: child.id, secret: oldSecret) == false)
            #expect(try await parent.pending(for: child.id).count == pending)
        }
    }

    @Test func nodesListsAndRevokesFromTheCommandLine() async throws {
        let (parent, _) = try await TestTree.node("district", group: "district", on: .sqlite, contents: .coreData)
        let (child, _) = try await TestTree.node("clinic-2", group: "clinic", on: .sqlite, contents: .coreData)
        try await TestTree.link(child: child, to: parent)
        let url = parent.configuration.database
        await parent.close()
        await child.close()
        let config = FileManager.default.temporaryDirectory.appendingPathComponent("tributary-nodes-\(UUID().uuidString).yaml")
        try "node: { id: district, group: district }\ndatabase: \(url)\n".write(to: config, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: config) }

        let before = try CommandLineTests.run(["nodes", "--config", config.path, "--json"])
        #expect(before.status == 0, "\(before.errors)")
        let listed = try #require(try JSONSerialization.jsonObject(with: Data(before.output.utf8)) as? [[String: Any]])
        #expect(listed.count == 1 && listed[0]["node"] as? String == "clinic-2" && listed[0]["revoked"] as? Bool == false)
        let revoked = try CommandLineTests.run(["nodes", "--config", config.path, "--revoke", "clinic-2"])
        #expect(revoked.status == 0 && revoked.output.contains("revoked clinic-2"), "\(revoked.output)\(revoked.errors)")
        let after = try CommandLineTests.run(["nodes", "--config", config.path, "--json"])
        #expect(after.output.contains("\"revoked\" : true"), "\(after.output)")
        let unknown = try CommandLineTests.run(["nodes", "--config", config.path, "--revoke", "clinic-9"])
        #expect(unknown.status != 0 && unknown.errors.contains("no child 'clinic-9'"))
    }
}
