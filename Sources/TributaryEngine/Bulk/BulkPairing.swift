import TributaryCore

/// Two bulk batches of one table that may be written at the same time, each in its own
/// transaction. Written one after the other, the child's database was busy about half the
/// time and the machine half idle: the rest went to fetching, decoding and translating the
/// next batch. Only when the second holds no reference into the first (a member of an obs
/// group whose head is in the first): written together, the second would not see it.
enum BulkPairing {
    static func independent(_ first: Batch, _ second: Batch, catalog: TableCatalog) -> Bool {
        guard let a = first.header.bulk, let b = second.header.bulk, a.table == b.table, a.columns == b.columns,
              a.format == BulkDescriptor.copyText, b.format == BulkDescriptor.copyText,
              first.header.source == second.header.source, first.header.batchID != second.header.batchID,
              let entry = catalog[a.table], let plan = BulkPlan.make(entry, catalog: catalog), plan.fastLoadable,
              BulkDirectCopy.applies(to: plan, catalog: catalog),
              let key = a.columns.firstIndex(of: "uuid") else { return false }
        let selfFields = plan.translations.filter(\.isSelf).compactMap { b.columns.firstIndex(of: $0.column) }
        let referenced = CopyTextRewrite.values(of: second.bulkRows, at: selfFields).values.reduce(into: Set<String>()) { $0.formUnion($1) }
        guard !referenced.isEmpty else { return true }
        return referenced.isDisjoint(with: CopyTextRewrite.values(of: first.bulkRows, at: [key])[key] ?? [])
    }
}
