import Foundation

/// The OpenMRS schema and data kit shipped with Tributary (MPL 2.0, see Kit/README.md):
/// schema, core data and sample data for each dialect, and the key inventory.
public enum OpenMRSKit {
    public enum Dialect: String, Sendable { case sqlite, postgres, mysql }
    public enum Part: String, Sendable {
        case schema
        case coreData = "core-data"
        case sampleData = "sample-data"
    }

    public static var directory: URL {
        Bundle.module.resourceURL!.appendingPathComponent("Kit")
    }

    public static func url(_ part: Part, _ dialect: Dialect) -> URL {
        directory.appendingPathComponent("\(part.rawValue)-\(dialect.rawValue).sql")
    }

    public static func sql(_ part: Part, _ dialect: Dialect) throws -> String {
        try String(contentsOf: url(part, dialect), encoding: .utf8)
    }

    public static var inventoryURL: URL { directory.appendingPathComponent("inventory.json") }
}
