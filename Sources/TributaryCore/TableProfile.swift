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
}

extension TableProfile {
    public func undeclaredReferences(for table: String) -> [Reference] { [] }
    public func typedValueReference(for table: String) -> TypedValueReference? { nil }
}

/// Every table enabled, both ways, one channel: for schemas with no profile.
public struct PlainProfile: TableProfile {
    public init() {}
    public func setting(for table: String) -> TableSetting { TableSetting() }
    public func exclusionReason(for table: String) -> String? { nil }
}
