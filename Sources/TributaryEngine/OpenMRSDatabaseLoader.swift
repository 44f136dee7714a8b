import TributaryOpenMRS
import TributarySQL

/// Loads the shipped OpenMRS kit into an empty database through Tributary's own
/// database layer (the demo; tests also load it with each database's own client).
public enum OpenMRSDatabaseLoader {
    public enum Contents: Sendable { case schemaOnly, coreData, coreAndSampleData }

    public static func load(_ contents: Contents, into database: any Database) async throws {
        let dialect: OpenMRSKit.Dialect = switch database.syntax {
        case .sqlite: .sqlite
        case .postgres: .postgres
        case .mysql: .mysql
        }
        var parts: [OpenMRSKit.Part] = [.schema]
        if contents != .schemaOnly { parts.append(.coreData) }
        if contents == .coreAndSampleData { parts.append(.sampleData) }
        for part in parts {
            try await database.executeScript(try OpenMRSKit.sql(part, dialect))
        }
    }
}
