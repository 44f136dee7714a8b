import Foundation
import HTTPTypes

/// Header names and paths of the node-to-node protocol, shared by server and client.
enum Wire {
    static let node = HTTPField.Name("X-Tributary-Node")!
    static let register = "/v1/register"
    static let batches = "/v1/batches"
    static let acks = "/v1/acks"
    static let settings = "/v1/settings"
    /// The largest request body a node accepts (a batch of 500 changes is far below it).
    static let maxBody = 64 * 1024 * 1024

    struct ErrorBody: Codable { let error: String }
}
