import ZentraCore

/// The tenant's events, in its order (`sequence`), as `GET /events` answers them.
public struct EventRepository<Scope: TenantScope>: AggregateRepository {
    let base: Scope
}

extension TenantScope {
    public var events: EventRepository<Self> { EventRepository(base: self) }
}

extension EventRepository {
    public func list(_ request: PageRequest, type: EventType? = nil) async throws -> Page<Event> {
        let rows = try await base.page(request, table: "events", columns: "*", order: "sequence", filter: type.map { "type = \($0.rawValue)" }) { $0 }
        return Page(data: try await base.decodeEvents(rows.data), hasMore: rows.hasMore)
    }

    public func find(_ id: EventID) async throws -> Event? {
        try await base.decodeEvents(try await sql.query("SELECT * FROM events WHERE tenant_id = \(tenant) AND id = \(id)")).first
    }

    /// Every event about these objects, in the tenant's order (evidence).
    public func all(about objectIDs: [String]) async throws -> [Event] {
        try await about(objectIDs, "ORDER BY sequence")
    }

    /// The newest `limit` events about these objects, oldest first: what a page shows of an object
    /// that may have any number of them.
    public func newest(about objectIDs: [String], limit: Int) async throws -> [Event] {
        try await about(objectIDs, "ORDER BY sequence DESC LIMIT \(limit)").reversed()
    }

    private func about(_ objectIDs: [String], _ order: SQL) async throws -> [Event] {
        try await base.decodeEvents(try await sql.query("SELECT * FROM events WHERE tenant_id = \(tenant) AND object_id IN ("
            + SQL.joined(objectIDs.map { "\($0)" }, separator: ", ") + ") " + order))
    }
}

extension TenantScope {
    /// Events as `GET /events/{id}` answers them, in the rows' order. A body that was not stored is
    /// rendered from its object's record, as the object was at the event's `object_version`.
    func decodeEvents(_ rows: [SQLRow]) async throws -> [Event] {
        var derived: Set<String> = []
        for row in rows where row["data"] == .null {
            guard try row.string("object_type") == ObjectType.authorization.rawValue, try row.optionalInt("object_version") == 0 else {
                throw StoreError.decoding("event \(try row.string("id")) has neither a body nor a record to render one from")
            }
            derived.insert(try row.string("object_id"))
        }
        var bodies: [String: [UInt8]] = [:]
        if !derived.isEmpty {
            for stored in try await storedAuthorizations(ids: derived.sorted()) {
                guard let record = stored.record else { continue }
                bodies[stored.authorization.id.rawValue] = record.answer(try record.decide()).serialized
            }
        }
        return try rows.map { row in
            let body: [UInt8]
            if row["data"] == .null {
                guard let rendered = bodies[try row.string("object_id")] else {
                    throw StoreError.decoding("event \(try row.string("id")): its authorization is missing")
                }
                body = rendered
            } else {
                // Stored bodies are read into values and written again: rows of every release come out alike.
                body = try row.json("data", as: JSONValue.self).serialized
            }
            return Event(id: try row.id("id"), type: try row.string("type"), sequence: try row.int("sequence"), objectJSON: body,
                         requestID: try row.optionalString("request_id"), createdAt: try row.timestamp("created_at"))
        }
    }
}
