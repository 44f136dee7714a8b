import Foundation
import Testing
import TributaryCore
import TributaryEngine
import TributarySQL

/// A registered child sends only what its place in the tree allows: batches forged at clinic A
/// are refused at the district (on each database) and never reach clinic B or the central.
@Suite struct TrustTests {
    struct Tree {
        let central: SyncNode, district: SyncNode, clinicA: SyncNode, clinicB: SyncNode
        let clinicADB: TestNode
        var links: [(SyncNode, SyncNode)] { [(district, central), (clinicA, district), (clinicB, district)] }
        func close() async { for node in [central, district, clinicA, clinicB] { await node.close() } }
    }

    static func tree(district kind: TestDatabase) async throws -> Tree {
        let (central, _) = try await TestTree.node("central", group: "central", on: .sqlite)
        let (district, _) = try await TestTree.node("district", group: "district", on: kind, contents: .coreData)
        let (clinicA, clinicADB) = try await TestTree.node("clinic-a", group: "clinic", on: .sqlite, contents: .coreData)
        let (clinicB, _) = try await TestTree.node("clinic-b", group: "clinic", on: .sqlite, contents: .coreData)
        try await TestTree.link(child: district, to: central)
        try await TestTree.link(child: clinicA, to: district)
        try await TestTree.link(child: clinicB, to: district)
        _ = try await central.changeSetting("concept", ["direction": "down"])
        let tree = Tree(central: central, district: district, clinicA: clinicA, clinicB: clinicB, clinicADB: clinicADB)
        try await TestTree.quiesce(tree.links)
        return tree
    }

    /// What clinic A's modified binary would send: a real change captured there, then edited.
    static func forged(_ tree: Tree, sql: String, batchID: Int64, edit: (inout WireChange) -> Void) async throws -> Batch {
        let before = try await tree.clinicA.database.scalar("SELECT COALESCE(MAX(change_id), 0) FROM tributary_change").int64 ?? 0
        try tree.clinicADB.client(sql)
        let captured = try await ChangeLog.read(tree.clinicA.database, after: before)
        var wire = try await Extractor(db: tree.clinicA.database, catalog: tree.clinicA.catalog, localNode: tree.clinicA.id,
                                       localDepth: tree.clinicA.depth).wireChanges(captured)
        for index in wire.indices { edit(&wire[index]) }
        return Batch(header: BatchHeader(batchID: batchID, source: tree.clinicA.id, target: tree.district.id, channel: "default", count: wire.count),
                     changes: wire)
    }

    static func value(_ node: SyncNode, _ sql: SQL) async throws -> String? { try await node.database.scalar(sql).string }

    @Test(arguments: TestDatabase.all)
    func forgedBatchesFromAChildAreRefusedAndGoNoFurther(on kind: TestDatabase) async throws {
        let tree = try await Self.tree(district: kind)
        defer { Task { await tree.close() } }
        #expect(tree.district.depth == 1 && tree.clinicA.depth == 2)
        let concept = try #require(try await Self.value(tree.central, "SELECT uuid FROM concept ORDER BY concept_id LIMIT 1"))
        let name = try #require(try await Self.value(tree.clinicA, "SELECT uuid FROM person_name ORDER BY person_name_id LIMIT 1"))
        let versionBefore = try await Self.value(tree.district, "SELECT version FROM concept WHERE uuid = \(concept)")

        // A forced change to a down-only table.
        let forcedConcept = try await Self.forged(tree, sql: "UPDATE concept SET version = 'forged' WHERE uuid = '\(concept)';", batchID: 990_001) {
            $0.forced = true
        }
        #expect(forcedConcept.changes.count == 1)
        // An edit of a name captured at clinic A, sent rewritten four ways.
        let honest = "UPDATE person_name SET family_name = 'Honest' WHERE uuid = '\(name)';"
        let rewrites: [(String, (inout WireChange) -> Void)] = [
            ("in the future", { $0.originTime = "9999-12-31 23:59:59.000000" }),
            ("another child", { $0.originNode = "clinic-b" }),
            ("this node's parent", { $0.originNode = "central"; $0.originDepth = 0 }),
            ("depth", { $0.originDepth = 0 }),
        ]
        var batches = [("flows down only", forcedConcept)]
        let base = try await Self.forged(tree, sql: honest.replacingOccurrences(of: "Honest", with: "Forged"), batchID: 0) { _ in }
        #expect(base.changes.count == 1)
        for (index, (rule, rewrite)) in rewrites.enumerated() {
            var batch = base
            batch.header.batchID = 990_010 + Int64(index)
            rewrite(&batch.changes[0])
            batches.append((rule, batch))
        }
        for (rule, batch) in batches {
            let ack = await tree.district.apply(batch)
            #expect(ack.status == .failed, "\(rule): \(ack)")
            #expect(ack.failure?.cause.contains(rule) == true, "\(rule): \(ack.failure?.cause ?? "")")
            #expect(ack.failure?.cause.contains("refused from clinic-a") == true)
        }
        #expect(try await Self.value(tree.district, "SELECT version FROM concept WHERE uuid = \(concept)") == versionBefore)
        #expect(try await Self.value(tree.district, "SELECT family_name FROM person_name WHERE uuid = \(name)") != "Forged")
        let status = try await NodeStatus.read(tree.district)
        #expect(status.incomingErrors >= Int64(batches.count))
        #expect(status.lastIncomingError?.contains("refused from clinic-a") == true)

        // Clinic A's own rounds carry on; the forged values reach no one, the last honest one everyone.
        try tree.clinicADB.client("UPDATE person_name SET family_name = 'Honest at last' WHERE uuid = '\(name)';")
        try await TestTree.quiesce(tree.links)
        for node in [tree.central, tree.district, tree.clinicB] {
            #expect(try await Self.value(node, "SELECT family_name FROM person_name WHERE uuid = \(name)") == "Honest at last", "\(node.id)")
            #expect(try await Self.value(node, "SELECT version FROM concept WHERE uuid = \(concept)") == versionBefore, "\(node.id)")
        }
    }

    /// A child could register under its parent's id (and then pull the parent's batches), the
    /// root's, a sibling's, or any id the tree uses; and under ids no file or URL can hold.
    @Test(arguments: TestDatabase.all)
    func registeringUnderAnIdTheTreeUsesOrAMalformedIdIsRefused(on kind: TestDatabase) async throws {
        let tree = try await Self.tree(district: kind)
        defer { Task { await tree.close() } }
        // Clinic B writes, so its id is known below the district too.
        let name = try #require(try await Self.value(tree.clinicB, "SELECT uuid FROM person_name ORDER BY person_name_id LIMIT 1"))
        try await tree.clinicB.database.execute("UPDATE person_name SET family_name = 'Written at B' WHERE uuid = \(name)")
        try await TestTree.quiesce(tree.links)

        func outcome(at node: SyncNode, _ id: String) async throws -> RegistrationOutcome {
            try await node.register(RegistrationRequest(nodeID: NodeID(id), group: "clinic", token: "test-token", claim: Secrets.make()))
        }
        let refused: [(SyncNode, String, String)] = [
            (tree.district, "central", "parent"),
            (tree.district, "district", "own id"),
            (tree.district, "clinic-b", "already registered"),
            (tree.clinicA, "central", "in use"),          // the root, two levels up
            (tree.clinicA, "clinic-b", "in use"),         // a sibling
            (tree.clinicA, "district", "parent"),
            (tree.district, "clinic/../x", "invalid node id"),
            (tree.district, String(repeating: "c", count: 200), "invalid node id"),
            (tree.district, "", "invalid node id"),
        ]
        for (node, id, reason) in refused {
            guard case .refused(let why) = try await outcome(at: node, id) else {
                Issue.record("\(id.prefix(20)) at \(node.id) was not refused")
                continue
            }
            #expect(why.contains(reason), "\(id.prefix(20)) at \(node.id): \(why)")
        }
        guard case .accepted = try await outcome(at: tree.district, "clinic-c") else { Issue.record("a new id was refused"); return }
        let children = try await tree.district.links().children
        #expect(children == ["clinic-a", "clinic-b", "clinic-c"])
    }

    /// After `registrations --approve ID`, whoever polled first as ID got the credentials.
    @Test(arguments: TestDatabase.all)
    func anApprovalGoesToTheRequestThatWasApprovedOnly(on kind: TestDatabase) async throws {
        let (parent, _) = try await TestTree.node("district", group: "district", on: kind, contents: .coreData)
        defer { Task { await parent.close() } }
        let claimA = Secrets.make(), claimB = Secrets.make()
        func ask(_ claim: String) async throws -> RegistrationOutcome {
            try await parent.register(RegistrationRequest(nodeID: "clinic-9", group: "clinic", token: nil, claim: claim))
        }
        guard case .pending = try await ask(claimA) else { Issue.record("the first request did not wait"); return }
        guard case .refused(let early) = try await ask(claimB) else { Issue.record("a second requester was not refused"); return }
        #expect(early.contains("another node"))
        #expect(try await parent.decideRegistration("clinic-9", approve: true))
        guard case .refused = try await ask(claimB) else { Issue.record("the approval went to another requester"); return }
        #expect(try await parent.links().children.isEmpty)
        guard case .accepted(let response) = try await ask(claimA) else { Issue.record("the approved request got nothing"); return }
        #expect(try await parent.authenticate(node: "clinic-9", secret: response.secret))
    }
}
