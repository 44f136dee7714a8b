import Foundation
import TributaryCore
import TributarySQL

/// OpenMRS's own `openmrs-runtime.properties`: the database it runs on, as a node's
/// `database:` URL (`tributary init`). Pure: text in, values out.
public struct OpenMRSRuntimeProperties: Sendable, Equatable {
    public var values: [String: String]

    /// Java properties: `key=value` or `key: value` or `key value`, `#`/`!` comments, `\` line
    /// continuations and escapes (`\:`, `\=`, `\\`, `\uXXXX`).
    public init(text: String) {
        var values: [String: String] = [:]
        var logical: [String] = []
        var pending = ""
        for raw in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            let line = raw.drop { $0 == " " || $0 == "\t" }  // a continuation's indent goes too
            if pending.isEmpty, line.first == "#" || line.first == "!" { continue }
            let trailing = line.reversed().prefix { $0 == "\\" }.count
            if trailing % 2 == 1 { pending += line.dropLast(); continue }
            logical.append(pending + line)
            pending = ""
        }
        if !pending.isEmpty { logical.append(pending) }
        for line in logical where !line.isEmpty {
            var key = "", rest = Substring(line), escaped = false
            while let character = rest.first {
                if escaped { key.append(character); escaped = false; rest = rest.dropFirst(); continue }
                if character == "\\" { escaped = true; rest = rest.dropFirst(); continue }
                if character == "=" || character == ":" || character == " " || character == "\t" { break }
                key.append(character)
                rest = rest.dropFirst()
            }
            rest = rest.drop { $0 == " " || $0 == "\t" }
            if rest.first == "=" || rest.first == ":" { rest = rest.dropFirst() }
            values[key] = Self.unescape(String(rest.drop { $0 == " " || $0 == "\t" }))
        }
        self.values = values
    }

    static func unescape(_ text: String) -> String {
        var result = "", characters = Array(text), index = 0
        while index < characters.count {
            let character = characters[index]
            if character == "\\", index + 1 < characters.count {
                let next = characters[index + 1]
                if next == "u", index + 5 < characters.count, let code = UInt32(String(characters[(index + 2)...(index + 5)]), radix: 16),
                   let scalar = Unicode.Scalar(code) {
                    result.unicodeScalars.append(scalar)
                    index += 6
                    continue
                }
                result.append(["t": "\t", "n": "\n", "r": "\r", "f": "\u{0C}"][next] ?? next)
                index += 2
                continue
            }
            result.append(character)
            index += 1
        }
        return result
    }

    /// The node's `database:` URL from `connection.url` (a JDBC URL for MySQL, MariaDB or
    /// PostgreSQL), `connection.username` and `connection.password`.
    public func databaseURL() throws -> String {
        guard let jdbc = values["connection.url"], !jdbc.isEmpty else {
            throw ConfigurationError("no connection.url in the runtime properties")
        }
        let schemes: [(prefix: String, scheme: String, port: Int)] = [
            ("jdbc:mysql://", "mysql", 3306), ("jdbc:mariadb://", "mysql", 3306), ("jdbc:postgresql://", "postgres", 5432),
        ]
        guard let match = schemes.first(where: { jdbc.lowercased().hasPrefix($0.prefix) }) else {
            throw ConfigurationError("connection.url '\(jdbc)' is not a MySQL, MariaDB or PostgreSQL JDBC URL")
        }
        let rest = jdbc.dropFirst(match.prefix.count)
        let beforeQuery = rest.split(separator: "?", maxSplits: 1).first.map(String.init) ?? ""
        let parts = beforeQuery.split(separator: "/", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[1].isEmpty else { throw ConfigurationError("connection.url '\(jdbc)' names no database") }
        // host[:port], first host only (a failover list names the primary first).
        let hostPort = parts[0].split(separator: ",").first.map(String.init) ?? "localhost"
        var host = hostPort, port = match.port
        if let colon = hostPort.lastIndex(of: ":"), let number = Int(hostPort[hostPort.index(after: colon)...]) {
            host = String(hostPort[..<colon])
            port = number
        }
        if host.isEmpty || host == "localhost" { host = "127.0.0.1" }
        let allowed = CharacterSet.urlUserAllowed.subtracting(CharacterSet(charactersIn: ":@/?#[]%"))
        let user = (values["connection.username"] ?? "").addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
        let password = values["connection.password"].flatMap { $0.isEmpty ? nil : $0.addingPercentEncoding(withAllowedCharacters: allowed) }
        let credentials = user.isEmpty ? "" : user + (password.map { ":" + $0 } ?? "") + "@"
        let url = "\(match.scheme)://\(credentials)\(host):\(port)/\(parts[1])"
        _ = try DatabaseURL(url)
        return url
    }
}

/// The configuration file `tributary init` writes.
public enum InitialConfiguration {
    /// A database URL without its password, to print.
    public static func redacted(_ url: String) -> String { (try? DatabaseURL(url).description) ?? "the database" }

    public static func yaml(nodeID: NodeID, group: String, database: String, parentURL: String?, token: String?,
                            listen: String?, acceptToken: String?) -> String {
        func quoted(_ text: String) -> String {
            "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        var lines = ["# Written by tributary init from OpenMRS's runtime properties.",
                     "node: { id: \(quoted(nodeID.rawValue)), group: \(quoted(group)) }",
                     "database: \(quoted(database))"]
        if let listen { lines.append("listen: \(quoted(listen))") }
        if let acceptToken { lines += ["registration:", "  tokens: [\(quoted(acceptToken))]"] }
        if let parentURL {
            lines += ["parent:", "  url: \(quoted(parentURL))"]
            if let token { lines.append("  registration_token: \(quoted(token))") }
        }
        lines += ["sync:", "  interval: 1s"]
        return lines.joined(separator: "\n") + "\n"
    }
}
