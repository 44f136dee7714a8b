import Testing
import TributarySQL

@Suite struct ColumnKindTests {
    @Test(arguments: [
        ("tinyint(1)", ColumnKind.boolean), ("BOOLEAN", .boolean), ("boolean", .boolean),
        ("int(11)", .integer), ("INTEGER", .integer), ("bigint", .integer), ("smallint", .integer),
        ("decimal(10,2)", .decimal), ("numeric(14,4)", .decimal), ("DOUBLE", .double), ("double precision", .double),
        ("datetime", .datetime), ("timestamp(0) without time zone", .datetime), ("DATE", .date),
        ("varchar(255)", .text), ("character(36)", .text), ("longtext", .text), ("BLOB", .binary), ("bytea", .binary),
        ("longblob", .binary), ("varbinary(16)", .binary), ("time", .time),
    ])
    func declaredTypesClassify(type: String, kind: ColumnKind) {
        #expect(ColumnKind(declaredType: type) == kind)
    }

    @Test func normalizationMakesDialectsComparable() {
        #expect(ColumnKind.boolean.normalize(.integer(1)) == .bool(true))
        #expect(ColumnKind.decimal.normalize(.text("12.50")) == ColumnKind.decimal.normalize(.double(12.5)))
        #expect(ColumnKind.decimal.normalize(.decimal("12.50")) != ColumnKind.decimal.normalize(.decimal("12.05")))
        #expect(ColumnKind.datetime.normalize(.text("2020-01-02T03:04:05.100000")) == .datetime("2020-01-02 03:04:05.1"))
        #expect(ColumnKind.date.normalize(.text("2020-01-02")) == .date("2020-01-02"))
    }

    @Test func civilTimeIsExact() {
        #expect(CivilTime.date(daysSince2000: 0) == "2000-01-01")
        #expect(CivilTime.date(daysSince2000: 59) == "2000-02-29")
        #expect(CivilTime.date(daysSince2000: -36524) == "1900-01-01")
        #expect(CivilTime.datetime(microsecondsSince2000: -1) == "1999-12-31 23:59:59.999999")
        #expect(CivilTime.datetime(microsecondsSince2000: 86_400_000_000 + 3_723_000_500) == "2000-01-02 01:02:03.0005")
    }
}
