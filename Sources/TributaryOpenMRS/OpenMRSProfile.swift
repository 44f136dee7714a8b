import TributaryCore

/// OpenMRS's default table settings: patient data on the `clinical` channel, everything
/// else (concepts, forms, locations, users, roles) on `metadata`; both ways by default.
///
/// `person` travels on `metadata`: users and providers are persons too, and `users.person_id`
/// and `provider.person_id` reference it, while `person.creator` references users. On two
/// channels that cycle could leave each channel's batch waiting for the other's; on one
/// channel capture order always brings the referenced row first.
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
        "patient_program", "patient_program_attribute", "patient_state", "person_address", "concept_proposal",
        "concept_proposal_tag_map", "obs_reference_range",
        "person_attribute", "person_merge_log", "person_name", "referral_order", "relationship",
        "test_order", "visit", "visit_attribute",
    ]

    public func setting(for table: String) -> TableSetting {
        TableSetting(enabled: Self.nodeLocal[table] == nil,
                     channel: Self.clinicalTables.contains(table) ? "clinical" : "metadata",
                     direction: .both, initialLoad: true)
    }

    public func exclusionReason(for table: String) -> String? { Self.nodeLocal[table] }

    public func undeclaredReferences(for table: String) -> [Reference] {
        Self.undeclared[table, default: []].map { Reference(column: $0.0, targetTable: $0.1, targetColumn: $0.2) }
    }

    /// References OpenMRS (through Hibernate) makes without a foreign key in the database.
    /// `person_attribute.value` is not here: it is a reference only for some attribute
    /// types (their `format`), which a per-row rule has to decide.
    public static let undeclared: [String: [(String, String, String)]] = [
        "orders": [("concept_id", "concept", "concept_id"), ("changed_by", "users", "user_id")],
        "person_name": [("changed_by", "users", "user_id")],
        "cohort_member": [("voided_by", "users", "user_id"), ("changed_by", "users", "user_id")],
        "concept_datatype": [("changed_by", "users", "user_id")],
        "concept_name_tag": [("creator", "users", "user_id"), ("voided_by", "users", "user_id")],
        "privilege": [("creator", "users", "user_id"), ("retired_by", "users", "user_id"), ("changed_by", "users", "user_id")],
        "program": [("retired_by", "users", "user_id")],
        "program_workflow_state": [("retired_by", "users", "user_id")],
        "provider_role": [("creator", "users", "user_id"), ("changed_by", "users", "user_id"), ("retired_by", "users", "user_id")],
        "concept_set": [("concept_id", "concept", "concept_id")],
    ]
}
