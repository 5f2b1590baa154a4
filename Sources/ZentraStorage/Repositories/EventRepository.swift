import ZentraCore

extension TenantScope {
    public func events(_ request: PageRequest, type: String? = nil) async throws -> Page<Event> {
        try await page(request, table: "events", columns: "*", order: "sequence",
                       filter: type.map { "type = \($0)" }, decode: decodeEvent)
    }

    public func event(_ id: EventID) async throws -> Event? {
        try await sql.queryOne("SELECT * FROM events WHERE tenant_id = \(tenant) AND id = \(id)").map(decodeEvent)
    }

    /// Every event about these objects, in the tenant's order (evidence).
    public func events(about objectIDs: [String]) async throws -> [Event] {
        try await sql.query("SELECT * FROM events WHERE tenant_id = \(tenant) AND object_id IN ("
            + SQL.joined(objectIDs.map { "\($0)" }, separator: ", ") + ") ORDER BY sequence")
            .map(decodeEvent)
    }

    func decodeEvent(_ row: SQLRow) throws -> Event {
        Event(id: try row.id("id"), type: try row.string("type"), sequence: try row.int("sequence"),
              object: try row.json("data", as: JSONValue.self),
              requestID: try row.optionalString("request_id"), createdAt: try row.timestamp("created_at"))
    }
}
