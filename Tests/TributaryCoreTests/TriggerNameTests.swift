import Testing
@testable import TributaryEngine

/// Names derived from table names stay within every database's identifier limit.
@Suite struct TriggerNameTests {
    /// Among the longest table names in public OpenMRS module schemas, and a 64-character one.
    static let longNames = [
        "providermanagement_provider_role_provider_attribute_type",
        "providermanagement_supervision_suggestion",
        "metadatamapping_metadata_term_mapping",
        "registrationcore_biometric_identifier_attribute",
        String(repeating: "x", count: 64),
    ]

    @Test(arguments: longNames)
    func everyNameFitsTheLimit(_ table: String) {
        for suffix in ["ins", "upd", "del", "capture", "capture_insert"] {
            let name = triggerName(table, suffix)
            #expect(name.utf8.count <= 63, "\(name)")
            #expect(name.hasPrefix("tributary_") && name.hasSuffix("_\(suffix)"))
            #expect(name == triggerName(table, suffix), "deterministic")
        }
    }

    @Test func shortNamesKeepTheirPlainFormSoExistingTriggersAreFound() {
        #expect(triggerName("person_name", "ins") == "tributary_person_name_ins")
        #expect(triggerName("concept", "capture_insert") == "tributary_concept_capture_insert")
    }

    @Test func twoLongNamesSharingTheirStartGetTwoNames() {
        let stem = String(repeating: "a", count: 55)
        #expect(triggerName(stem + "_one", "capture_insert") != triggerName(stem + "_two", "capture_insert"))
        #expect(triggerName(stem + "_one", "ins") != triggerName(stem + "_two", "ins"))
    }

    @Test func aNameIsCutOnACharacterBoundary() {
        let name = triggerName(String(repeating: "é", count: 40), "capture_insert")
        #expect(name.utf8.count <= 63)
        #expect(String(decoding: Array(name.utf8), as: UTF8.self) == name)
    }
}
