/// Default table settings for an application (OpenMRS is the one we ship).
public protocol TableProfile: Sendable {
    func setting(for table: String) -> TableSetting
    /// Why the profile leaves a table out by default, if it does.
    func exclusionReason(for table: String) -> String?
    /// Integer columns the application uses as references though the schema declares no
    /// foreign key: translated like foreign keys, or they would point at the wrong rows elsewhere.
    func undeclaredReferences(for table: String) -> [Reference]
    /// A column whose value is a row id of a table its type row names, if the table has one.
    func typedValueReference(for table: String) -> TypedValueReference?
    /// What the table holds, and why that decides its settings (`tables --json`).
    func family(for table: String) -> (family: TableFamily, reason: String)
}

/// What a table holds, as the profile sees it.
public enum TableFamily: String, Sendable, Codable {
    /// One site's own state: never copied.
    case siteLocal = "site-local"
    case metadata
    case clinical
    /// Not known to the profile (a module's table): synced by the general identity rules.
    case module
}

extension TableProfile {
    public func undeclaredReferences(for table: String) -> [Reference] { [] }
    public func typedValueReference(for table: String) -> TypedValueReference? { nil }
    public func family(for table: String) -> (family: TableFamily, reason: String) { (.module, "no profile: every table syncs") }
}

/// Every table enabled, both ways, one channel: for schemas with no profile.
public struct PlainProfile: TableProfile {
    public init() {}
    public func setting(for table: String) -> TableSetting { TableSetting() }
    public func exclusionReason(for table: String) -> String? { nil }
}
