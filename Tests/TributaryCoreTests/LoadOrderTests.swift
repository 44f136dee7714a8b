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

    @Test func aCycleIsBrokenWhereTheFewestRowsWait() {
        let references: [String: Set<String>] = ["users": ["person"], "person": ["users"], "patient": ["person"]]
        #expect(LoadOrder.cyclic(references) == ["users", "person"])
        // Without counts: the name decides between equals. With them: the 4 users wait, not the 10,000 persons.
        #expect(LoadOrder.sorted(references) == ["person", "users", "patient"])
        #expect(LoadOrder.sorted(references, sizes: ["users": 4, "person": 10_000]) == ["users", "person", "patient"])
        #expect(LoadOrder.sorted(references, sizes: ["users": 40_000, "person": 10_000]) == ["person", "users", "patient"])
    }
}

@Suite struct InsertArrangementTests {
    static func insert(_ table: String, _ id: String, _ op: ChangeOperation = .insert) -> WireChange {
        WireChange(table: table, operation: op, key: [.string(id)], row: [:], old: op == .insert ? nil : [:], originNode: "n", originTime: id)
    }

    @Test func insertsOfReferencedTablesComeFirstWithinARunAndNothingElseMoves() {
        let ranks = LoadOrder.ranks(["person": ["users"], "users": ["person"], "patient": ["person"], "encounter": ["patient"], "obs": ["encounter", "obs", "person"]])
        #expect(ranks["person"] == ranks["users"], "a cycle shares its rank")
        #expect(ranks["person"]! < ranks["patient"]! && ranks["patient"]! < ranks["encounter"]! && ranks["encounter"]! < ranks["obs"]!)
        let changes = [
            Self.insert("person", "p1"), Self.insert("patient", "pt1"), Self.insert("encounter", "e1"), Self.insert("obs", "o1"), Self.insert("obs", "o2"),
            Self.insert("person", "p2"), Self.insert("users", "u1"), Self.insert("patient", "pt2"), Self.insert("unknown", "x1"), Self.insert("obs", "o3"),
            Self.insert("obs", "o1", .update),
            Self.insert("obs", "o4"), Self.insert("person", "p3"),
        ]
        let arranged = LoadOrder.arrangeInserts(changes, ranks: ranks).map { $0.key[0].description }
        #expect(arranged == ["p1", "p2", "u1", "pt1", "pt2", "e1", "o1", "o2", "o3", "x1", "o1", "p3", "o4"])
    }
}
