import Foundation
import TributaryCore
import TributarySQL
import Yams

/// A node's configuration file (YAML). This commands read `node` and `database`;
/// `tables` holds local overrides of the profile's settings.
///
///     node:
///       id: clinic-01
///       group: clinic
///     database: sqlite:/var/lib/tributary/openmrs.db
public struct NodeConfiguration: Sendable, Decodable {
    public struct Node: Sendable, Decodable {
        public var id: NodeID
        public var group: String
    }

    public struct TableOverride: Sendable, Decodable {
        public var enabled: Bool?
        public var channel: String?
        public var direction: Direction?
        public var initialLoad: Bool?
        public var policy: ConflictPolicy?

        enum CodingKeys: String, CodingKey { case enabled, channel, direction, initialLoad = "initial_load", policy }
    }

    public struct Parent: Sendable, Decodable {
        public var url: String?
        public var registrationToken: String?
        public var offline: Bool?
        enum CodingKeys: String, CodingKey { case url, registrationToken = "registration_token", offline }
    }

    public struct Registration: Sendable, Decodable {
        public var tokens: [String]?
    }

    public struct Sync: Sendable, Decodable {
        public var interval: String?
        public var batchSize: Int?
        public var gapTimeout: String?
        /// A table with fewer rows goes into an initial load row by row, not as a bulk copy.
        public var bulkMinRows: Int?
        /// Rows per bulk batch of an initial load (fewer when their lines are long).
        public var bulkBatchRows: Int?
        /// PostgreSQL: copy incoming rows as a replica session where the role may (`ReplicaCopy`).
        public var replicaCopy: Bool?
        /// How far in the future an incoming change's origin time may be (`TrustBoundary`).
        public var clockSkew: String?
        /// How long acknowledged changes, batches and records are kept (`Purge`).
        public var retention: String?
        enum CodingKeys: String, CodingKey {
            case interval, batchSize = "batch_size", gapTimeout = "gap_timeout", bulkMinRows = "bulk_min_rows", bulkBatchRows = "bulk_batch_rows"
            case replicaCopy = "replica_copy", clockSkew = "clock_skew", retention
        }
    }

    public var node: Node
    public var database: String
    /// `host:port` where children connect.
    public var listen: String?
    public var parent: Parent?
    public var registration: Registration?
    public var sync: Sync?
    /// `openmrs` (default) or `none`.
    public var profile: String?
    public var tables: [String: TableOverride]?

    public static func load(path: String) throws -> NodeConfiguration {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationError("cannot read configuration file \(path): \(error.localizedDescription)")
        }
        return try parse(text, source: path)
    }

    public static func parse(_ text: String, source: String = "configuration") throws -> NodeConfiguration {
        let configuration: NodeConfiguration
        if let unknown = try? ConfigurationKeys.unknown(in: text), let key = unknown.first {
            let reason = ConfigurationKeys.notYetSupported[key].map { ": \($0)" } ?? " (a typo? see the README's configuration keys)"
            throw ConfigurationError("\(source): unknown key '\(key)'\(reason)")
        }
        do {
            configuration = try YAMLDecoder().decode(NodeConfiguration.self, from: text)
        } catch let DecodingError.keyNotFound(key, context) {
            let path = (context.codingPath.map(\.stringValue) + [key.stringValue]).joined(separator: ".")
            throw ConfigurationError("\(source): missing required key '\(path)'")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.dataCorrupted(context) {
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw ConfigurationError("\(source): invalid value at '\(path)': \(context.debugDescription)")
        } catch {
            throw ConfigurationError("\(source): \(error)")
        }
        guard !configuration.node.id.rawValue.isEmpty else { throw ConfigurationError("\(source): node.id is empty") }
        guard NodeID.isValid(configuration.node.id.rawValue) else {
            throw ConfigurationError("\(source): node.id '\(configuration.node.id)' is not 1 to 64 letters, digits, '.', '_' or '-'")
        }
        _ = try DatabaseURL(configuration.database)
        if let listen = configuration.listen, ListenAddress(listen) == nil {
            throw ConfigurationError("\(source): listen: '\(listen)' is not host:port")
        }
        if let url = configuration.parent?.url, URL(string: url)?.host == nil || !(url.hasPrefix("http://") || url.hasPrefix("https://")) {
            throw ConfigurationError("\(source): parent.url: '\(url)' is not an http(s) URL")
        }
        if let parent = configuration.parent, parent.url == nil, parent.offline != true {
            throw ConfigurationError("\(source): parent needs a url (or offline: true)")
        }
        for (key, value) in [("sync.interval", configuration.sync?.interval), ("sync.gap_timeout", configuration.sync?.gapTimeout),
                             ("sync.clock_skew", configuration.sync?.clockSkew), ("sync.retention", configuration.sync?.retention)] {
            if let value, DurationText.seconds(value) == nil {
                throw ConfigurationError("\(source): \(key): '\(value)' is not a duration (use 500ms, 1s, 2m, 1h, 7d)")
            }
        }
        if let size = configuration.sync?.batchSize, size < 1 {
            throw ConfigurationError("\(source): sync.batch_size must be at least 1")
        }
        if let rows = configuration.sync?.bulkMinRows, rows < 1 {
            throw ConfigurationError("\(source): sync.bulk_min_rows must be at least 1")
        }
        if let rows = configuration.sync?.bulkBatchRows, rows < 1 {
            throw ConfigurationError("\(source): sync.bulk_batch_rows must be at least 1")
        }
        return configuration
    }

    /// Local overrides applied on top of the profile's defaults.
    public func overrides(profile: any TableProfile) -> [String: TableSetting] {
        var result: [String: TableSetting] = [:]
        for (table, override) in tables ?? [:] {
            var setting = profile.setting(for: table)
            if let v = override.enabled { setting.enabled = v }
            if let v = override.channel { setting.channel = v }
            if let v = override.direction { setting.direction = v }
            if let v = override.initialLoad { setting.initialLoad = v }
            if let v = override.policy { setting.policy = v }
            result[table] = setting
        }
        return result
    }
}

extension NodeConfiguration {
    public var syncInterval: Double { sync?.interval.flatMap(DurationText.seconds) ?? 1 }
    public var gapTimeout: Double { sync?.gapTimeout.flatMap(DurationText.seconds) ?? 600 }
    public var batchSize: Int { sync?.batchSize ?? 2_000 }
    /// Below this many rows a table shares change batches with others: a bulk copy travels
    /// alone in its batch, and each batch costs a round trip (40 small tables: 1.5 s).
    public var bulkMinimumRows: Int { sync?.bulkMinRows ?? 1_000 }
    public var bulkBatchRows: Int { sync?.bulkBatchRows ?? BulkSnapshot.chunk }
    public var replicaCopy: Bool { sync?.replicaCopy ?? true }
    public var clockSkew: Double { sync?.clockSkew.flatMap(DurationText.seconds) ?? 600 }
    /// Seven days unless set.
    public var retention: Double { sync?.retention.flatMap(DurationText.seconds) ?? 7 * 86_400 }
}

/// `host:port`.
public struct ListenAddress: Sendable, Hashable {
    public var host: String
    public var port: Int
    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else { return nil }
        host = String(text[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        if host.isEmpty { host = "0.0.0.0" }
        self.port = port
    }
}

/// Durations in configuration files: `500ms`, `1s`, `2m`, `1h`, or plain seconds.
public enum DurationText {
    public static func seconds(_ text: String) -> Double? {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        for (suffix, factor) in [("ms", 0.001), ("s", 1.0), ("m", 60.0), ("h", 3600.0), ("d", 86_400.0)] where t.hasSuffix(suffix) {
            return Double(t.dropLast(suffix.count)).map { $0 * factor }.flatMap { $0 >= 0 ? $0 : nil }
        }
        return Double(t).flatMap { $0 >= 0 ? $0 : nil }
    }
}

public struct ConfigurationError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
