import Yams

/// Every key a configuration file may hold. A key not listed is an error naming it and the
/// file: a typo such as `registraton:` or a setting this version does not have (`listen_tls:`)
/// must not be ignored quietly, leaving a node that was meant to refuse strangers open.
indirect enum ConfigurationKeys: Sendable {
    case value
    case keys([String: ConfigurationKeys])
    /// A mapping whose keys are names of the user's (tables), each shaped alike.
    case named(ConfigurationKeys)

    static let file: ConfigurationKeys = .keys([
        "node": .keys(["id": .value, "group": .value]),
        "database": .value,
        "listen": .value,
        "parent": .keys(["url": .value, "registration_token": .value, "offline": .value]),
        "registration": .keys(["tokens": .value]),
        "sync": .keys(["interval": .value, "batch_size": .value, "gap_timeout": .value, "bulk_min_rows": .value,
                       "bulk_batch_rows": .value, "replica_copy": .value, "clock_skew": .value, "retention": .value]),
        "profile": .value,
        "tables": .named(.keys(["enabled": .value, "channel": .value, "direction": .value, "initial_load": .value, "policy": .value])),
    ])

    /// Keys of later releases' documentation that this one does not implement yet: said so plainly.
    static let notYetSupported: [String: String] = [
        "listen_tls": "TLS for node-to-node HTTP is not built yet; terminate TLS in a proxy in front of the node",
        "parent.ca": "TLS for node-to-node HTTP is not built yet",
        "registration.claim_ttl": "not built yet",
        "openmrs": "OpenMRS-specific settings are not built yet",
    ]

    /// The dotted paths of keys in `yaml` that are not in this shape.
    static func unknown(in yaml: String) throws -> [String] {
        guard let root = try Yams.compose(yaml: yaml) else { return [] }
        return file.unknown(root, path: [])
    }

    func unknown(_ node: Node, path: [String]) -> [String] {
        guard let mapping = node.mapping else { return [] }
        return mapping.flatMap { key, value -> [String] in
            let name = key.string ?? "\(key)"
            switch self {
            case .value: return []
            case .named(let each): return each.unknown(value, path: path + [name])
            case .keys(let known):
                guard let shape = known[name] else { return [(path + [name]).joined(separator: ".")] }
                return shape.unknown(value, path: path + [name])
            }
        }
    }
}
