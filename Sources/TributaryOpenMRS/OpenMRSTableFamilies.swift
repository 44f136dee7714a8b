import TributaryCore

/// What each OpenMRS table holds, and so whether and how it syncs: site-local state is never
/// copied (copied, it makes OpenMRS at the other site skip its own migrations, run another
/// site's tasks, or issue the same patient identifiers twice), shared metadata and clinical
/// data sync both ways. A module's table the profile does not know syncs by the same
/// identity rules as a core table (uuid, parent key, natural key).
extension OpenMRSProfile {
    /// Core and module tables that hold one site's own state, each with the reason.
    static let siteLocal: [String: String] = [
        "shedlock": "scheduler lock rows belong to the OpenMRS instance that holds them",
        "global_property": "site settings and state (loginAttempts, defaultLocation, *.started, *.database_version) belong to one site",
        "user_property": "per-site user state (lockoutTimestamp, loginAttempts, defaultLocation)",
        "scheduler_task_config": "each site schedules its own tasks; copied, a task would run at every site",
        "scheduler_task_config_property": "belongs to a site's scheduled task",
        "hl7_in_queue": "a site's own HL7 inbox, processed where it arrived",
        "hl7_in_archive": "a site's own HL7 history",
        "hl7_in_error": "a site's own HL7 failures",
        "notification_alert": "alerts to a site's users about that site's events",
        "notification_alert_recipient": "belongs to a site's alert",
        "outbox_event": "a site's own queue of events for its listeners",
        "liquibasechangelog": "OpenMRS's record of the migrations run on this database; copied, the other site skips or repeats its own",
        "liquibasechangeloglock": "OpenMRS's migration lock on this database",
        "reporting_report_request": "a site's own queue of report runs",
        "appframework_component_state": "which apps and extensions this site has switched on",
    ]

    /// Module table families that are site-local as a whole, by name prefix.
    static let siteLocalPrefixes: [(prefix: String, reason: String)] = [
        ("idgen_", "identifier generators keep their own sequence state and log: two sites sharing them would issue the same identifiers"),
        ("metadatasharing_", "this site's history of metadata packages imported and exported"),
        ("sync_", "the state of the retired OpenMRS sync module at this site"),
    ]

    /// Core tables of shared metadata: concepts, forms, locations, users, roles, programs, types.
    static let sharedMetadata: Set<String> = [
        "care_setting", "clob_datatype_storage", "cohort", "concept", "concept_answer", "concept_attribute",
        "concept_attribute_type", "concept_class", "concept_complex", "concept_datatype", "concept_description",
        "concept_map_type", "concept_name", "concept_name_tag", "concept_name_tag_map", "concept_numeric",
        "concept_reference_map", "concept_reference_range", "concept_reference_source", "concept_reference_term",
        "concept_reference_term_map", "concept_set", "concept_state_conversion", "concept_stop_word",
        "diagnosis_attribute_type", "drug", "drug_ingredient", "drug_reference_map", "encounter_role",
        "encounter_type", "field", "field_answer", "field_type", "form", "form_field", "form_resource", "hl7_source",
        "location", "location_attribute", "location_attribute_type", "location_tag", "location_tag_map",
        "notification_template", "order_attribute_type", "order_frequency", "order_group_attribute_type", "order_set",
        "order_set_attribute", "order_set_attribute_type", "order_set_member", "order_type", "order_type_class_map",
        "patient_identifier_type", "person", "person_attribute_type", "privilege", "program", "program_attribute_type",
        "program_workflow", "program_workflow_state", "provider", "provider_attribute", "provider_attribute_type",
        "provider_role", "relationship_type", "report_object", "report_schema_xml", "role", "role_privilege",
        "role_role", "serialized_object", "user_role", "users", "visit_attribute_type", "visit_type",
    ]

    public func family(for table: String) -> (family: TableFamily, reason: String) {
        if let reason = Self.siteLocal[table] { return (.siteLocal, reason) }
        if let rule = Self.siteLocalPrefixes.first(where: { table.hasPrefix($0.prefix) }) { return (.siteLocal, rule.reason) }
        if Self.clinicalTables.contains(table) { return (.clinical, "patient data: travels with the patient") }
        if Self.sharedMetadata.contains(table) { return (.metadata, "shared metadata, decided centrally and used everywhere") }
        return (.module, "a table OpenMRS core does not have (a module's): synced by the same identity rules as core tables")
    }
}
