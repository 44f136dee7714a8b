/// Default table settings for an application (OpenMRS is the one we ship).
public protocol TableProfile: Sendable {
    func setting(for table: String) -> TableSetting
    /// Why the profile leaves a table out by default, if it does.
    func exclusionReason(for table: String) -> String?
}

/// Every table enabled, both ways, one channel: for schemas with no profile.
public struct PlainProfile: TableProfile {
    public init() {}
    public func setting(for table: String) -> TableSetting { TableSetting() }
    public func exclusionReason(for table: String) -> String? { nil }
}
