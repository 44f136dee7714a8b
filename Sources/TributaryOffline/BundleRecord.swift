import TributaryCore
import TributaryEngine

/// One line of a bundle. Exactly one of the optional fields is set, named by `type`.
struct BundleRecord: Sendable, Codable {
    enum Kind: String, Codable, Sendable {
        case registrationRequest = "registration_request", registrationAnswer = "registration_answer"
        case registrationRefused = "registration_refused", settings, acks, batch, summary
    }

    var type: Kind
    var request: RegistrationRequest?
    var answer: RegistrationResponse?
    var reason: String?
    var settings: SettingsDocument?
    var acks: [Ack]?
    var batch: Batch?
    var summary: BundleSummary?

    init(_ type: Kind) { self.type = type }
}

/// The sender's account of a bundle, its last line.
public struct BundleSummary: Sendable, Hashable, Codable {
    public var batches: Int
    public var rows: Int
    /// Everything pending for the recipient was included.
    public var complete: Bool
    /// The oldest batch for the recipient still unacknowledged, when it was created.
    public var oldestUnacknowledged: String?

    enum CodingKeys: String, CodingKey { case batches, rows, complete, oldestUnacknowledged = "oldest_unacknowledged" }
}
