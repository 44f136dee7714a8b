/// A child's first call to its parent.
public struct RegistrationRequest: Sendable, Hashable, Codable {
    public var nodeID: NodeID
    public var group: String
    public var token: String?
    /// A random value the child keeps from its first request on: asking again with it (the
    /// answer was lost) gets new credentials; another node claiming the same id cannot.
    public var claim: String?

    enum CodingKeys: String, CodingKey { case nodeID = "node_id", group, token, claim }

    public init(nodeID: NodeID, group: String, token: String?, claim: String? = nil) {
        self.nodeID = nodeID
        self.group = group
        self.token = token
        self.claim = claim
    }
}

/// The parent's answer: the credentials the child uses from then on.
public struct RegistrationResponse: Sendable, Hashable, Codable {
    public var parent: NodeID
    public var secret: String

    public init(parent: NodeID, secret: String) {
        self.parent = parent
        self.secret = secret
    }
}

/// Expected outcomes of a registration are values, not errors.
public enum RegistrationOutcome: Sendable, Hashable {
    case accepted(RegistrationResponse)
    /// Recorded; an administrator of the parent has to approve it.
    case pending(String)
    case refused(String)
}

/// Where a child stands with its initial load: receiving the parent's tables, then
/// sending up what only it holds, then done.
public enum InitialLoadState: String, Sendable, Codable {
    case receiving, sending, done
}
