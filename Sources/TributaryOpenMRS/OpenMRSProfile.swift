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
        TableSetting(enabled: family(for: table).family != .siteLocal,
                     channel: Self.clinicalTables.contains(table) ? "clinical" : "metadata",
                     direction: .both, initialLoad: true)
    }

    public func exclusionReason(for table: String) -> String? {
        let (family, reason) = family(for: table)
        return family == .siteLocal ? "site-local: " + reason : nil
    }

    public func undeclaredReferences(for table: String) -> [Reference] {
        Self.undeclared[table, default: []].map { Reference(column: $0.0, targetTable: $0.1, targetColumn: $0.2) }
    }

    public func typedValueReference(for table: String) -> TypedValueReference? {
        table == "person_attribute" ? Self.personAttributeValue : nil
    }

    /// `person_attribute.value` holds a row id when its type's format names an OpenMRS class.
    public static let personAttributeValue = TypedValueReference(
        valueColumn: "value", typeColumn: "person_attribute_type_id", formatColumn: "format",
        targets: [
            "org.openmrs.Concept": ("concept", "concept_id"), "org.openmrs.Location": ("location", "location_id"),
            "org.openmrs.Drug": ("drug", "drug_id"), "org.openmrs.User": ("users", "user_id"),
            "org.openmrs.Person": ("person", "person_id"), "org.openmrs.Patient": ("patient", "patient_id"),
            "org.openmrs.Provider": ("provider", "provider_id"), "org.openmrs.Program": ("program", "program_id"),
            "org.openmrs.Form": ("form", "form_id"), "org.openmrs.EncounterType": ("encounter_type", "encounter_type_id"),
            "org.openmrs.ConceptClass": ("concept_class", "concept_class_id"),
        ])

    /// References OpenMRS (through Hibernate) makes without a foreign key in the database.
    /// `person_attribute.value` is a reference only for some attribute types: see `personAttributeValue`.
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
