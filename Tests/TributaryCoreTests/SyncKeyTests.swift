import Testing
import TributaryCore
import TributaryEngine
import TributarySQL

/// The identity rules on small tables shaped like OpenMRS's exceptions.
@Suite struct SyncKeyTests {
    static func column(_ name: String, _ type: String = "int", auto: Bool = false) -> ColumnSchema {
        ColumnSchema(name: name, declaredType: type, kind: ColumnKind(declaredType: type), nullable: false, defaultValue: nil, autoIncrement: auto)
    }
    static func fk(_ column: String, _ table: String, _ target: String = "id") -> ForeignKey {
        ForeignKey(name: nil, columns: [column], referencedTable: table, referencedColumns: [target])
    }

    @Test func uuidColumnWinsEvenWithoutUniqueConstraint() {
        let users = TableSchema(name: "users", columns: [Self.column("user_id", auto: true), Self.column("uuid", "char(38)")],
                                primaryKey: ["user_id"], uniqueConstraints: [], foreignKeys: [])
        #expect(SyncKey.derive(for: users) == SyncKey(kind: .uuid, columns: ["uuid"]))
    }

    @Test func primaryKeyThatIsAForeignKeyIsKnownThroughItsParent() {
        let patient = TableSchema(name: "patient", columns: [Self.column("patient_id"), Self.column("creator")],
                                  primaryKey: ["patient_id"], uniqueConstraints: [],
                                  foreignKeys: [Self.fk("patient_id", "person", "person_id"), Self.fk("creator", "users")])
        #expect(SyncKey.derive(for: patient).kind == .parent)
        // referral_order: auto-increment and a foreign key at once is still the parent's row.
        let referral = TableSchema(name: "referral_order", columns: [Self.column("order_id", auto: true)],
                                   primaryKey: ["order_id"], uniqueConstraints: [], foreignKeys: [Self.fk("order_id", "orders")])
        #expect(SyncKey.derive(for: referral).kind == .parent)
    }

    @Test func naturalAndCompositeKeys() {
        let rolePrivilege = TableSchema(name: "role_privilege", columns: [Self.column("role", "varchar(50)"), Self.column("privilege", "varchar(255)")],
                                        primaryKey: ["role", "privilege"], uniqueConstraints: [],
                                        foreignKeys: [Self.fk("role", "role", "role"), Self.fk("privilege", "privilege", "privilege")])
        #expect(SyncKey.derive(for: rolePrivilege) == SyncKey(kind: .natural, columns: ["role", "privilege"]))
        let link = TableSchema(name: "concept_name_tag_map", columns: [Self.column("concept_name_id"), Self.column("concept_name_tag_id")],
                               primaryKey: [], uniqueConstraints: [],
                               foreignKeys: [Self.fk("concept_name_id", "concept_name"), Self.fk("concept_name_tag_id", "concept_name_tag")])
        #expect(SyncKey.derive(for: link) == SyncKey(kind: .natural, columns: ["concept_name_id", "concept_name_tag_id"]))
    }

    @Test func autoIncrementWithoutUuidHasNoStableIdentity() {
        let property = TableSchema(name: "scheduler_task_config_property",
                                   columns: [Self.column("task_config_property_id", auto: true), Self.column("name", "varchar(255)")],
                                   primaryKey: ["task_config_property_id"], uniqueConstraints: [], foreignKeys: [])
        let key = SyncKey.derive(for: property)
        #expect(key.kind == .none)
        #expect(key.reason?.contains("auto-increment") == true)
        let catalog = TableCatalog(schema: DatabaseSchema(tables: [property]), profile: PlainProfile())
        #expect(catalog.synced.isEmpty)
        #expect(catalog.entries[0].setting.enabled == false)
    }
}
