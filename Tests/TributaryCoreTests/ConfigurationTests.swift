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
