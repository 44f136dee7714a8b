import TributaryCore
import TributarySQL

/// The parent's side of registration. A child presenting one of `registration.tokens` is
/// accepted at once; one presenting no token waits for an administrator; a wrong token,
/// a rejected request or a node id already in use is refused. Acceptance issues a secret
/// (stored hashed) and queues the child's initial load in the same transaction.
extension SyncNode {
    public struct RegistrationRecord: Sendable, Hashable, Codable {
        public var node: String
        public var group: String
        public var status: String
        public var requestedAt: String
        public var lastRequestAt: String
        public var decidedAt: String?

        enum CodingKeys: String, CodingKey {
            case node, group, status, requestedAt = "requested_at", lastRequestAt = "last_request_at", decidedAt = "decided_at"
        }
    }

    public func register(_ request: RegistrationRequest) async throws -> RegistrationOutcome {
        let child = request.nodeID
        guard NodeID.isValid(child.rawValue) else {
            return .refused("invalid node id '\(child.rawValue.prefix(80))': use 1 to 64 letters, digits, '.', '_' or '-'")
        }
        if let taken = try await idTakenInTheTree(child) { return .refused("node id \(child) is \(taken)") }
        let tokens = configuration.registration?.tokens ?? []
        let outcome: RegistrationOutcome
        do {
            outcome = try await decide(request, tokens: tokens)
        } catch {
            // Two requests of one child at once (a client that gave up and asked again while the
            // first was still being answered): the second insert fails; asked again, it takes the claim path.
            guard try await !database.query("SELECT 1 FROM tributary_node WHERE node_id = \(child.rawValue)").isEmpty else { throw error }
            outcome = try await decide(request, tokens: tokens)
        }
        switch outcome {
        case .accepted: logger.info("child registered; initial load queued", metadata: ["node": "\(child)", "group": "\(request.group)"])
        case .pending(let why): logger.notice("\(why)")
        case .refused(let why): logger.warning("registration refused: \(why)")
        }
        return outcome
    }

    /// Why `child` may not be used by a new node: it names this node, its parent, or a node
    /// whose changes passed through here (the root and every node of the tree that ever wrote).
    /// A child registered here already takes the claim path in `decide`.
    func idTakenInTheTree(_ child: NodeID) async throws -> String? {
        if child == id { return "this node's own id" }
        if try await identity("parent_node") == child.rawValue { return "this node's parent" }
        if try await !database.query("SELECT 1 FROM tributary_node WHERE node_id = \(child.rawValue)").isEmpty { return nil }
        if try await !database.query("SELECT 1 FROM tributary_origin WHERE node_id = \(child.rawValue)").isEmpty {
            return "already in use by another node of the tree"
        }
        return nil
    }

    private func decide(_ request: RegistrationRequest, tokens: [String]) async throws -> RegistrationOutcome {
        let child = request.nodeID
        let registrationKey = try await self.registrationKey()
        let now = SQLValue.datetime(Clock.nowText())
        return try await database.transaction { tx in
            let revoked = try await tx.query("SELECT 1 FROM tributary_node WHERE node_id = \(child.rawValue) AND revoked_at IS NOT NULL")
            if !revoked.isEmpty {
                // Registering again after a revocation: only with a token, and the batches kept
                // for the id stay pending for the node that now holds the new secret.
                guard let token = request.token, tokens.contains(token) else {
                    return .refused("node id \(child) was revoked here; registering it again needs a registration token")
                }
                let secret = request.claim.map { Secrets.claimed($0, node: child.rawValue, key: registrationKey) } ?? Secrets.make()
                try await tx.execute("""
                    UPDATE tributary_node SET secret_hash = \(Secrets.hash(secret)), bundle_key = \(Secrets.bundleKey(secret)),
                      claim_hash = \(request.claim.map(Secrets.hash)), revoked_at = NULL, last_contact = NULL WHERE node_id = \(child.rawValue)
                    """)
                return .accepted(RegistrationResponse(parent: self.id, secret: secret))
            }
            if let known = try await tx.query("SELECT claim_hash, secret_hash, last_contact FROM tributary_node WHERE node_id = \(child.rawValue)").first {
                // The same child asking again because our answer never reached it: new credentials,
                // as long as the first ones were never used. Anyone else: refused.
                guard let claim = request.claim, let stored = known.string("claim_hash"), Secrets.matches(claim, hash: stored),
                      known["last_contact"] == .null else {
                    return .refused("node id \(child) is already registered")
                }
                // The same secret again (derived from the claim): a late answer to an earlier attempt
                // must not replace credentials the child already holds.
                let secret = Secrets.claimed(claim, node: child.rawValue, key: registrationKey)
                if !Secrets.matches(secret, hash: known.string("secret_hash") ?? "") {
                    try await tx.execute("""
                        UPDATE tributary_node SET secret_hash = \(Secrets.hash(secret)), bundle_key = \(Secrets.bundleKey(secret))
                        WHERE node_id = \(child.rawValue)
                        """)
                }
                return .accepted(RegistrationResponse(parent: self.id, secret: secret))
            }
            let waiting = try await tx.query("SELECT status, claim_hash FROM tributary_registration WHERE node_id = \(child.rawValue)").first
            let recorded = waiting?.string("status")
            // The request an administrator sees (and approves) is the one that made the claim:
            // another node asking under the same id gets nothing from that approval.
            let sameRequester = waiting?.string("claim_hash").map { stored in request.claim.map { Secrets.matches($0, hash: stored) } ?? false } ?? true
            let approved: Bool
            if let token = request.token, !token.isEmpty {
                guard tokens.contains(token) else { return .refused("registration token not accepted for node \(child)") }
                approved = true
            } else {
                if recorded == "pending" || recorded == "approved", !sameRequester {
                    return .refused("node id \(child) is requested here by another node already (its request waits for an administrator)")
                }
                approved = recorded == "approved"
            }
            if recorded == "rejected" && !approved { return .refused("the registration of \(child) was rejected by an administrator of \(self.id)") }
            guard approved else {
                if recorded == nil {
                    try await tx.execute("""
                        INSERT INTO tributary_registration (node_id, node_group, status, requested_at, last_request_at, claim_hash)
                        VALUES (\(child.rawValue), \(request.group), 'pending', \(now), \(now), \(request.claim.map(Secrets.hash)))
                        """)
                } else {
                    try await tx.execute("UPDATE tributary_registration SET last_request_at = \(now) WHERE node_id = \(child.rawValue)")
                }
                return .pending("the registration of \(child) waits for an administrator of \(self.id) to approve it")
            }
            let secret = request.claim.map { Secrets.claimed($0, node: child.rawValue, key: registrationKey) } ?? Secrets.make()
            try await tx.execute("""
                INSERT INTO tributary_node (node_id, node_group, secret_hash, bundle_key, claim_hash, registered_at)
                VALUES (\(child.rawValue), \(request.group), \(Secrets.hash(secret)), \(Secrets.bundleKey(secret)),
                        \(request.claim.map(Secrets.hash)), \(now))
                """)
            try await tx.execute("DELETE FROM tributary_registration WHERE node_id = \(child.rawValue)")
            try await tx.execute("""
                INSERT INTO tributary_registration (node_id, node_group, status, requested_at, last_request_at, decided_at)
                VALUES (\(child.rawValue), \(request.group), 'registered', \(now), \(now), \(now))
                """)
            // A node still receiving its own initial load sends its children theirs once it has it:
            // a snapshot of half-loaded tables would carry keys that the rest of the load renames (merges).
            let ownLoad = try await tx.query("SELECT value FROM tributary_identity WHERE name = 'initial_load'").first?.string("value")
            if ownLoad == InitialLoadState.receiving.rawValue {
                try await tx.execute("INSERT INTO tributary_identity (name, value) VALUES (\(Self.deferredLoadPrefix + child.rawValue), \(child.rawValue))")
            } else {
                let snapshot = self.snapshot()
                try await snapshot.enqueue(snapshot.tables(flowing: .down), for: child, in: tx)
            }
            return .accepted(RegistrationResponse(parent: self.id, secret: secret))
        }
    }

    static let deferredLoadPrefix = "deferred_load:"

    /// Queues the initial loads of children that registered while this node was receiving its own.
    func queueDeferredLoads() async throws {
        let snapshot = self.snapshot()
        try await database.transaction { tx in
            let deferred = try await tx.query("SELECT name, value FROM tributary_identity WHERE name LIKE \(Self.deferredLoadPrefix + "%")")
            for row in deferred {
                guard let name = row.string("name"), let child = row.string("value") else { continue }
                try await snapshot.enqueue(snapshot.tables(flowing: .down), for: NodeID(child), in: tx)
                try await tx.execute("DELETE FROM tributary_identity WHERE name = \(name)")
            }
        }
    }

    public func registrations() async throws -> [RegistrationRecord] {
        try await database.query("SELECT node_id, node_group, status, requested_at, last_request_at, decided_at FROM tributary_registration ORDER BY node_id").map { row in
            RegistrationRecord(node: row.string("node_id") ?? "", group: row.string("node_group") ?? "", status: row.string("status") ?? "",
                               requestedAt: ColumnKind.datetime.normalize(row["requested_at"]).string ?? "",
                               lastRequestAt: ColumnKind.datetime.normalize(row["last_request_at"]).string ?? "",
                               decidedAt: ColumnKind.datetime.normalize(row["decided_at"]).string)
        }
    }

    /// An administrator's decision on a waiting request. Returns false when no request waits under that id.
    @discardableResult
    public func decideRegistration(_ node: NodeID, approve: Bool) async throws -> Bool {
        let changed = try await database.execute("""
            UPDATE tributary_registration SET status = \(approve ? "approved" : "rejected"), decided_at = \(SQLValue.datetime(Clock.nowText()))
            WHERE node_id = \(node.rawValue) AND status IN ('pending', 'approved', 'rejected')
            """)
        return changed > 0
    }

    /// This node's key for deriving children's secrets from their claims, made once and kept.
    func registrationKey() async throws -> String {
        if let key = try await identity("registration_key") { return key }
        do { try await database.execute("INSERT INTO tributary_identity (name, value) VALUES ('registration_key', \(Secrets.make()))") } catch {
            // Made at the same moment by another request: use that one.
        }
        guard let key = try await identity("registration_key") else { throw SyncError.protocolError("no registration key") }
        return key
    }
}
