import ZentraCore

extension TenantScope {
    /// Looks an intent up by its `int_` id or by the client's `intent_id`.
    public func intent(_ idOrKey: String) async throws -> RuntimeIntent? {
        try await sql.queryOne(
            "SELECT * FROM runtime_intents WHERE tenant_id = \(tenant) AND (id = \(idOrKey) OR intent_key = \(idOrKey))"
        ).map(decodeIntent)
    }

    public func intents(_ request: PageRequest) async throws -> Page<RuntimeIntent> {
        try await page(request, table: "runtime_intents", columns: "*", decode: decodeIntent)
    }

    func decodeIntent(_ row: SQLRow) throws -> RuntimeIntent {
        RuntimeIntent(
            id: try row.id("id"), intentID: try row.string("intent_key"), type: try row.string("type"),
            scope: try row.string("scope"), moneyModel: try row.string("money_model"),
            primitives: try row.json("primitives"), status: try row.enumValue("status"),
            steps: try row.json("steps"), subject: try row.optionalString("subject"), createdAt: try row.timestamp("created_at"))
    }
}
