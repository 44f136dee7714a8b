import Foundation
import TributarySQL

/// The OpenMRS write mix: one transaction per new patient with person, person_name,
/// patient, patient_identifier, an encounter and 20 obs (25 rows).
struct OpenMRSWriteMix: Sendable {
    let identifierType: Int64
    let encounterType: Int64
    let location: Int64
    let concepts: [Int64]

    static let rowsPerPatient = 25

    /// Reads the reference rows the writes point at (from the kit's core and sample data).
    static func prepare(_ db: any Database) async throws -> OpenMRSWriteMix {
        func first(_ sql: SQL) async throws -> Int64 {
            guard let id = try await db.scalar(sql).int64 else { throw BenchmarkError("reference row missing: \(sql)") }
            return id
        }
        let concepts = try await db.query("SELECT concept_id FROM concept ORDER BY concept_id LIMIT 20").compactMap { $0.int("concept_id") }
        guard concepts.count == 20 else { throw BenchmarkError("the kit has fewer than 20 concepts") }
        return OpenMRSWriteMix(
            identifierType: try await first("SELECT MIN(patient_identifier_type_id) FROM patient_identifier_type"),
            encounterType: try await first("SELECT MIN(encounter_type_id) FROM encounter_type"),
            location: try await first("SELECT MIN(location_id) FROM location"),
            concepts: concepts)
    }

    func writePatient(_ db: any Database, number: Int) async throws {
        let now = SQLValue.datetime("2026-11-22 10:00:00")
        try await db.transaction { tx in
            let personUUID = UUID().uuidString.lowercased()
            try await tx.execute("""
                INSERT INTO person (gender, birthdate, creator, date_created, voided, uuid)
                VALUES ('F', \(SQLValue.date("1990-04-01")), \(1), \(now), \(false), \(personUUID))
                """)
            guard let personID = try await tx.scalar("SELECT person_id FROM person WHERE uuid = \(personUUID)").int64 else {
                throw BenchmarkError("inserted person not found")
            }
            try await tx.execute("""
                INSERT INTO person_name (person_id, given_name, family_name, preferred, creator, date_created, voided, uuid)
                VALUES (\(personID), \("Given\(number)"), \("Family\(number)"), \(true), \(1), \(now), \(false), \(UUID().uuidString.lowercased()))
                """)
            try await tx.execute("INSERT INTO patient (patient_id, creator, date_created, voided) VALUES (\(personID), \(1), \(now), \(false))")
            try await tx.execute("""
                INSERT INTO patient_identifier (patient_id, identifier, identifier_type, preferred, location_id, creator, date_created, voided, uuid)
                VALUES (\(personID), \("BENCH-\(number)-\(personID)"), \(identifierType), \(true), \(location), \(1), \(now), \(false), \(UUID().uuidString.lowercased()))
                """)
            let encounterUUID = UUID().uuidString.lowercased()
            try await tx.execute("""
                INSERT INTO encounter (encounter_type, patient_id, location_id, encounter_datetime, creator, date_created, voided, uuid)
                VALUES (\(encounterType), \(personID), \(location), \(now), \(1), \(now), \(false), \(encounterUUID))
                """)
            guard let encounterID = try await tx.scalar("SELECT encounter_id FROM encounter WHERE uuid = \(encounterUUID)").int64 else {
                throw BenchmarkError("inserted encounter not found")
            }
            for (i, concept) in concepts.enumerated() {
                try await tx.execute("""
                    INSERT INTO obs (person_id, concept_id, encounter_id, obs_datetime, location_id, value_numeric, creator, date_created, voided, uuid, status)
                    VALUES (\(personID), \(concept), \(encounterID), \(now), \(location), \(SQLValue.double(Double(i) + 0.5)), \(1), \(now), \(false), \(UUID().uuidString.lowercased()), \("FINAL"))
                    """)
            }
        }
    }
}

struct BenchmarkError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
