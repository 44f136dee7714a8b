import TributaryCore

/// OpenMRS's default table settings: patient data on the `clinical` channel, everything
/// else (concepts, forms, locations, users, roles) on `metadata`; both ways by default.
public struct OpenMRSProfile: TableProfile {
    public init() {}

    /// Tables that hold one site's own housekeeping and must never be copied.
    static let nodeLocal: [String: String] = [
        "shedlock": "scheduler lock rows belong to the OpenMRS instance that holds them",
    ]

    static let clinicalTables: Set<String> = [
        "allergy", "allergy_reaction", "cohort_member", "conditions", "diagnosis_attribute", "drug_order",
        "encounter", "encounter_diagnosis", "encounter_provider", "medication_dispense", "note", "obs",
        "order_attribute", "order_group", "order_group_attribute", "orders", "patient", "patient_identifier",
        "patient_program", "patient_program_attribute", "patient_state", "person", "person_address",
        "person_attribute", "person_merge_log", "person_name", "referral_order", "relationship",
        "test_order", "visit", "visit_attribute",
    ]

    public func setting(for table: String) -> TableSetting {
        TableSetting(enabled: Self.nodeLocal[table] == nil,
                     channel: Self.clinicalTables.contains(table) ? "clinical" : "metadata",
                     direction: .both, initialLoad: true)
    }

    public func exclusionReason(for table: String) -> String? { Self.nodeLocal[table] }
}
