import Foundation

/// Where a database is: `sqlite:/abs/path.db`, `postgres://user:pw@host:port/db`,
/// `mysql://user:pw@host:port/db`.
public enum DatabaseURL: Sendable, Hashable, CustomStringConvertible {
    case sqlite(path: String)
    case postgres(Endpoint)
    case mysql(Endpoint)

    public struct Endpoint: Sendable, Hashable {
        public var host: String
        public var port: Int
        public var user: String
        public var password: String?
        public var database: String
    }

    public init(_ text: String) throws {
        if text.hasPrefix("sqlite:") {
            var path = String(text.dropFirst("sqlite:".count))
            if path.hasPrefix("//") { path = String(path.dropFirst(2)) }
            guard path.hasPrefix("/") || path == ":memory:" else {
                throw DatabaseError(.invalidURL, "sqlite URL needs an absolute path: \(text)")
            }
            self = .sqlite(path: path)
            return
        }
        guard let components = URLComponents(string: text), let scheme = components.scheme else {
            throw DatabaseError(.invalidURL, "not a database URL: \(text) (use sqlite:/path, postgres://… or mysql://…)")
        }
        let database = String(components.path.drop { $0 == "/" })
        guard !database.isEmpty else { throw DatabaseError(.invalidURL, "database name missing in \(text)") }
        func endpoint(defaultPort: Int, defaultUser: String) -> Endpoint {
            Endpoint(host: components.host ?? "127.0.0.1", port: components.port ?? defaultPort,
                     user: components.user?.removingPercentEncoding ?? defaultUser,
                     password: components.password?.removingPercentEncoding, database: database)
        }
        switch scheme {
        case "postgres", "postgresql": self = .postgres(endpoint(defaultPort: 5432, defaultUser: "postgres"))
        case "mysql", "mariadb": self = .mysql(endpoint(defaultPort: 3306, defaultUser: "root"))
        default: throw DatabaseError(.invalidURL, "unknown database scheme '\(scheme)' (use sqlite, postgres or mysql)")
        }
    }

    public var syntax: SQLSyntax {
        switch self {
        case .sqlite: .sqlite
        case .postgres: .postgres
        case .mysql: .mysql
        }
    }

    /// The URL without its password, for logs and status.
    public var description: String {
        switch self {
        case .sqlite(let path): "sqlite:\(path)"
        case .postgres(let e): "postgres://\(e.user)@\(e.host):\(e.port)/\(e.database)"
        case .mysql(let e): "mysql://\(e.user)@\(e.host):\(e.port)/\(e.database)"
        }
    }
}
