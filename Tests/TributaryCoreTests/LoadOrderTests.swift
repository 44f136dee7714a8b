import Testing
import TributaryCore

@Suite struct LoadOrderTests {
    @Test func referencedTablesComeFirstAndCyclesComeAsAUnitAfterTheirDependencies() {
        let order = LoadOrder.sorted([
            "users": ["person", "users"], "person": ["users", "concept"], "concept": ["users", "concept_class"],
            "concept_class": ["users"], "orders": ["users", "encounter", "orders"], "drug_order": ["orders", "drug"],
            "drug": ["concept"], "encounter": ["person", "location"], "location": ["users"], "role": [],
        ])
        func position(_ table: String) -> Int { order.firstIndex(of: table)! }
        #expect(order.count == 10 && Set(order).count == 10)
        for (table, referenced) in [("drug_order", "orders"), ("orders", "encounter"), ("encounter", "location"),
                                    ("drug", "concept"), ("location", "users"), ("encounter", "person")] {
            #expect(position(referenced) < position(table), "\(referenced) before \(table) in \(order)")
        }
        // The users/person/concept/concept_class cycle is sent together, before what needs it.
        let cycle = ["users", "person", "concept", "concept_class"].map(position).sorted()
        #expect(cycle.last! - cycle.first! == 3, "\(order)")
    }
}
