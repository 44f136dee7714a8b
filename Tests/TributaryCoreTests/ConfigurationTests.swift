import Testing
import TributaryCore
import TributaryEngine

@Suite struct ConfigurationTests {
    @Test func minimalConfigurationParses() throws {
        let configuration = try NodeConfiguration.parse("""
            node:
              id: clinic-07
              group: clinic
            database: sqlite:/tmp/x.db
            tables:
              obs: { enabled: false }
              concept: { direction: down }
            """)
        #expect(configuration.node.id == "clinic-07")
        let overrides = configuration.overrides(profile: PlainProfile())
        #expect(overrides["obs"]?.enabled == false)
        #expect(overrides["concept"]?.direction == .down)
    }

    @Test func missingKeysAreNamed() {
        #expect {
            try NodeConfiguration.parse("node:\n  id: a\ndatabase: sqlite:/tmp/x.db\n")
        } throws: { "\($0)".contains("node.group") }
        #expect {
            try NodeConfiguration.parse("node:\n  id: a\n  group: g\ndatabase: nonsense\n")
        } throws: { "\($0)".contains("not a database URL") }
        #expect {
            try NodeConfiguration.parse("node:\n  id: a\n  group: g\ndatabase: sqlite:/tmp/x.db\nsync:\n  bulk_min_rows: 0\n")
        } throws: { "\($0)".contains("sync.bulk_min_rows") }
    }

    /// A typo or a key this version lacks was silently ignored: a node meant to refuse
    /// strangers (`registraton:`) or to use TLS (`listen_tls:`) quietly did neither.
    @Test func unknownKeysAreErrorsNamingTheKeyAndTheFile() {
        let base = "node:\n  id: a\n  group: g\ndatabase: sqlite:/tmp/x.db\n"
        #expect {
            try NodeConfiguration.parse(base + "registraton:\n  tokens: [t]\n", source: "/etc/tributary.yaml")
        } throws: { "\($0)".contains("/etc/tributary.yaml") && "\($0)".contains("unknown key 'registraton'") }
        #expect {
            try NodeConfiguration.parse(base + "sync:\n  intervall: 1s\n")
        } throws: { "\($0)".contains("unknown key 'sync.intervall'") }
        #expect {
            try NodeConfiguration.parse(base + "listen_tls: { certificate: /c.pem, key: /k.pem }\n")
        } throws: { "\($0)".contains("unknown key 'listen_tls'") && "\($0)".contains("not built yet") }
        #expect {
            try NodeConfiguration.parse(base + "tables:\n  obs: { enabeld: false }\n")
        } throws: { "\($0)".contains("unknown key 'tables.obs.enabeld'") }
        // Table names are the user's own; every known key still parses.
        #expect(throws: Never.self) {
            try NodeConfiguration.parse(base + """
                listen: "127.0.0.1:8400"
                parent: { url: "http://p:1", registration_token: t, offline: false }
                registration: { tokens: [a] }
                sync: { interval: 1s, batch_size: 10, gap_timeout: 1m, bulk_min_rows: 1, bulk_batch_rows: 5, replica_copy: true }
                profile: openmrs
                tables: { any_module_table: { enabled: true, channel: c, direction: up, initial_load: true, policy: manual } }
                """)
        }
    }

    @Test func bulkThresholdsAreConfigurable() throws {
        let plain = try NodeConfiguration.parse("node:\n  id: a\n  group: g\ndatabase: sqlite:/tmp/x.db\n")
        #expect(plain.bulkMinimumRows == 1_000)
        let set = try NodeConfiguration.parse("node:\n  id: a\n  group: g\ndatabase: sqlite:/tmp/x.db\nsync:\n  bulk_min_rows: 5\n")
        #expect(set.bulkMinimumRows == 5)
        #expect(plain.bulkBatchRows == 10_000)
        #expect(try NodeConfiguration.parse("node:\n  id: a\n  group: g\ndatabase: sqlite:/tmp/x.db\nsync:\n  bulk_batch_rows: 50\n").bulkBatchRows == 50)
        #expect {
            try NodeConfiguration.parse("node:\n  id: a\n  group: g\ndatabase: sqlite:/tmp/x.db\nsync:\n  bulk_batch_rows: 0\n")
        } throws: { "\($0)".contains("sync.bulk_batch_rows") }
    }
}
