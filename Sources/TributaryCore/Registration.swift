/// A child's first call to its parent.
public struct RegistrationRequest: Sendable, Hashable, Codable {
    public var nodeID: NodeID
    public var group: String
    public var token: String?

    enum CodingKeys: String, CodingKey { case nodeID = "node_id", group, token }

    public init(nodeID: NodeID, group: String, token: String?) {
        self.nodeID = nodeID
        self.group = group
        self.token = token
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
