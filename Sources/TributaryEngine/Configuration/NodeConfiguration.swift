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

        enum CodingKeys: String, CodingKey { case enabled, channel, direction, initialLoad = "initial_load" }
    }

    public var node: Node
    public var database: String
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
        _ = try DatabaseURL(configuration.database)
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
            result[table] = setting
        }
        return result
    }
}

public struct ConfigurationError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
