/// The kind of row change a capture trigger records.
public enum ChangeOperation: String, Sendable, Codable, CaseIterable {
    case insert = "I"
    case update = "U"
    case delete = "D"
}
