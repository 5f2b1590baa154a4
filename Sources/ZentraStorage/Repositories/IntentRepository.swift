import ZentraCore

/// Runtime intents recorded by the use cases that write one.
public struct IntentRepository<Scope: TenantScope>: AggregateRepository {
    let base: Scope
}

extension TenantScope {
    public var intents: IntentRepository<Self> { IntentRepository(base: self) }
}

extension IntentRepository {
    /// Looks an intent up by its `int_` id or by the client's `intent_id`.
    public func find(_ idOrKey: String) async throws -> RuntimeIntent? {
        try await sql.queryOne(
            "SELECT * FROM runtime_intents WHERE tenant_id = \(tenant) AND (id = \(idOrKey) OR intent_key = \(idOrKey))"
        ).map(decode)
    }

    public func list(_ request: PageRequest) async throws -> Page<RuntimeIntent> {
        try await base.page(request, table: "runtime_intents", columns: "*", decode: decode)
    }

    func decode(_ row: SQLRow) throws -> RuntimeIntent {
        RuntimeIntent(
            id: try row.id("id"), intentID: try row.string("intent_key"), type: try row.string("type"),
            scope: try row.string("scope"), moneyModel: try row.string("money_model"),
            primitives: try row.json("primitives"), status: try row.enumValue("status"),
            steps: try row.json("steps"), subject: try row.optionalString("subject"), createdAt: try row.timestamp("created_at"))
    }
}
