/// A failure reported by a database or its driver, with the statement that caused it.
public struct DatabaseError: Error, CustomStringConvertible, Sendable {
    public enum Code: Sendable, Equatable { case connection, statement, unsupported, invalidURL }
    public let code: Code
    public let message: String
    public let sql: String?

    public init(_ code: Code, _ message: String, sql: String? = nil) {
        self.code = code
        self.message = message
        self.sql = sql
    }

    public var description: String {
        guard let sql else { return message }
        let shown = sql.count > 300 ? String(sql.prefix(300)) + "…" : sql
        return "\(message) [SQL: \(shown)]"
    }
}
