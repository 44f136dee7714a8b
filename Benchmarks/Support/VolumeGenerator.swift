import Foundation
import TributarySQL

/// The project's own volume generator: patients, each with a visit, an encounter and
/// obs, written through Tributary's database layer (so capture sees them like any write).
public struct VolumeGenerator: Sendable {
    public let patients: Int
    public let obsPerPatient: Int
    public let prefix: String

    public init(patients: Int, obsPerPatient: Int, prefix: String) {
        self.patients = patients
        self.obsPerPatient = obsPerPatient
        self.prefix = prefix
    }

    /// Rows one patient adds: person, patient, visit, encounter and its obs.
    public var rowsPerPatient: Int { 4 + obsPerPatient }

    public func write(into db: any Database) async throws {
        let mix = try await References.read(db)
        let now = SQLValue.datetime("2026-11-22 10:00:00")
        for p in 0..<patients {
            try await db.transaction { tx in
                let person = "\(prefix)-p\(p)-".padding(toLength: 36, withPad: "0", startingAt: 0)
                try await tx.execute("INSERT INTO person (gender, creator, date_created, voided, uuid) VALUES ('F', \(1), \(now), \(false), \(person))")
                guard let personID = try await tx.scalar("SELECT person_id FROM person WHERE uuid = \(person)").int64 else { throw GeneratorError("person missing") }
                try await tx.execute("INSERT INTO patient (patient_id, creator, date_created, voided) VALUES (\(personID), \(1), \(now), \(false))")
                let visit = "\(prefix)-v\(p)-".padding(toLength: 36, withPad: "0", startingAt: 0)
                try await tx.execute("""
                    INSERT INTO visit (patient_id, visit_type_id, date_started, creator, date_created, voided, uuid)
                    VALUES (\(personID), \(mix.visitType), \(now), \(1), \(now), \(false), \(visit))
                    """)
                let encounter = "\(prefix)-e\(p)-".padding(toLength: 36, withPad: "0", startingAt: 0)
                try await tx.execute("""
                    INSERT INTO encounter (encounter_type, patient_id, location_id, visit_id, encounter_datetime, creator, date_created, voided, uuid)
                    VALUES (\(mix.encounterType), \(personID), \(mix.location), (SELECT visit_id FROM visit WHERE uuid = \(visit)), \(now), \(1), \(now), \(false), \(encounter))
                    """)
                guard let encounterID = try await tx.scalar("SELECT encounter_id FROM encounter WHERE uuid = \(encounter)").int64 else { throw GeneratorError("encounter missing") }
                // Obs in multi-row inserts of 50: the write is not what is measured.
                for chunk in stride(from: 0, to: obsPerPatient, by: 50) {
                    let rows = (chunk..<min(chunk + 50, obsPerPatient)).map { i -> SQL in
                        let uuid = "\(prefix)-o\(p)-\(i)-".padding(toLength: 36, withPad: "0", startingAt: 0)
                        return "(\(personID), \(mix.concepts[i % mix.concepts.count]), \(encounterID), \(now), \(mix.location), \(SQLValue.double(Double(i) + 0.25)), \(1), \(now), \(false), \(uuid), 'FINAL')"
                    }
                    try await tx.execute("""
                        INSERT INTO obs (person_id, concept_id, encounter_id, obs_datetime, location_id, value_numeric, creator, date_created, voided, uuid, status)
                        VALUES \(SQL.join(rows, separator: ", "))
                        """)
                }
            }
        }
    }

    struct References {
        let visitType: Int64, encounterType: Int64, location: Int64
        let concepts: [Int64]

        static func read(_ db: any Database) async throws -> References {
            func first(_ sql: SQL) async throws -> Int64 {
                guard let v = try await db.scalar(sql).int64 else { throw GeneratorError("no row for \(sql)") }
                return v
            }
            return References(
                visitType: try await first("SELECT MIN(visit_type_id) FROM visit_type"),
                encounterType: try await first("SELECT MIN(encounter_type_id) FROM encounter_type"),
                location: try await first("SELECT MIN(location_id) FROM location"),
                concepts: try await db.query("SELECT concept_id FROM concept ORDER BY concept_id LIMIT 20").compactMap { $0.int("concept_id") })
        }
    }
}

public struct GeneratorError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
