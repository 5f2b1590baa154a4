import ZentraCore

/// A delivery as stored: the object, and who (if anyone) is sending it now.
public struct StoredWebhookDelivery: Sendable {
    public var delivery: WebhookDelivery
    /// The claim of the process sending it; set while an attempt is in flight.
    public let claim: String?
    public let claimedAt: Timestamp?
}

/// The outbox's cross-tenant questions, asked by the delivery worker of every process.
public enum WebhookOutbox {
    /// Tenants with events their webhook cursor has not passed yet.
    public static func tenantsBehind(engine: any DatabaseEngine) async throws -> [TenantID] {
        try await engine.withReader { sql in
            try await sql.query("""
                SELECT c.tenant_id FROM webhook_cursors c JOIN tenants t ON t.id = c.tenant_id WHERE t.event_sequence > c.event_sequence
                """).map { try $0.id("tenant_id") }
        }
    }

    /// Enabled endpoints with deliveries due (pending, next attempt or lease end passed), earliest
    /// first. A disabled endpoint's deliveries wait, unclaimed, until it is enabled again.
    public static func dueEndpoints(now: Timestamp, limit: Int, engine: any DatabaseEngine) async throws -> [(TenantID, WebhookEndpointID)] {
        try await engine.withReader { sql in
            // Per endpoint, its first pending delivery in due order: one index probe each, however
            // long the backlog.
            try await sql.query("""
                SELECT tenant_id, endpoint_id FROM (
                    SELECT e.tenant_id, e.id AS endpoint_id, (
                        SELECT d.next_attempt_at FROM webhook_deliveries d
                        WHERE d.tenant_id = e.tenant_id AND d.endpoint_id = e.id AND d.status = '\(raw: WebhookDelivery.Status.pending.rawValue)'
                        ORDER BY d.next_attempt_at LIMIT 1) AS due
                    FROM webhook_endpoints e WHERE e.status = '\(raw: WebhookEndpoint.Status.enabled.rawValue)') AS firsts
                WHERE due <= \(now) ORDER BY due LIMIT \(limit)
                """).map { (try $0.id("tenant_id"), try $0.id("endpoint_id")) }
        }
    }
}

extension WebhookOutbox {
    /// Deliveries not finished yet (waiting, in flight or between attempts) of every endpoint.
    public static func backlog(engine: any DatabaseEngine) async throws -> [WebhookEndpointID: Int64] {
        try await engine.withReader { sql in
            var backlog: [WebhookEndpointID: Int64] = [:]
            for row in try await sql.query("""
                SELECT e.id, COUNT(d.id) AS pending FROM webhook_endpoints e
                LEFT JOIN webhook_deliveries d ON d.tenant_id = e.tenant_id AND d.endpoint_id = e.id AND d.status = '\(raw: WebhookDelivery.Status.pending.rawValue)'
                GROUP BY e.id
                """) {
                backlog[try row.id("id")] = try row.int("pending")
            }
            return backlog
        }
    }
}

/// Webhook deliveries of the tenant's events to its endpoints, and the cursor that makes them.
public struct WebhookDeliveryRepository<Scope: TenantScope>: AggregateRepository {
    let base: Scope
}

extension TenantScope {
    public var webhookDeliveries: WebhookDeliveryRepository<Self> { WebhookDeliveryRepository(base: self) }
}

extension WebhookDeliveryRepository {
    /// An endpoint's deliveries, newest first, optionally of one status.
    public func list(endpoint: WebhookEndpointID, _ request: PageRequest, status: WebhookDelivery.Status? = nil)
        async throws -> Page<WebhookDelivery>
    {
        var filter: SQL = "endpoint_id = \(endpoint)"
        if let status { filter = filter + " AND status = \(status.rawValue)" }
        return try await base.page(request, table: "webhook_deliveries", columns: "data", filter: filter) { try $0.json("data") }
    }
}

extension WebhookDeliveryRepository where Scope == WriteTransaction {
    /// Starts the tenant's webhook cursor at its latest event, once: events before the tenant's
    /// first endpoint are never delivered.
    public func startCursor() async throws {
        try await sql.execute("""
            INSERT INTO webhook_cursors (tenant_id, event_sequence) SELECT id, event_sequence FROM tenants WHERE id = \(tenant)
            ON CONFLICT (tenant_id) DO NOTHING
            """)
    }

    /// The cursor, row-locked: one process at a time turns a tenant's events into deliveries.
    /// With `skipIfLocked`, nil while another process holds it, rather than waiting.
    public func lockedCursor(skipIfLocked: Bool = false) async throws -> Int64? {
        try await sql.queryOne("SELECT event_sequence FROM webhook_cursors WHERE tenant_id = \(tenant)"
                               + (skipIfLocked ? SQL.forUpdateSkipLocked : SQL.forUpdate))
            .map { try $0.int("event_sequence") }
    }

    public func setCursor(_ sequence: Int64) async throws {
        try await sql.execute("UPDATE webhook_cursors SET event_sequence = \(sequence) WHERE tenant_id = \(tenant)")
    }

    public func moveCursorToLatestEvent() async throws {
        try await sql.execute("""
            UPDATE webhook_cursors SET event_sequence = (SELECT event_sequence FROM tenants WHERE id = \(tenant)) WHERE tenant_id = \(tenant)
            """)
    }

    /// New deliveries, a hundred per statement. One born claimed (`claim` set: the process that
    /// made it sends it) is due again only at `due`, its lease's end, like one claimed later.
    public func insert(_ deliveries: [(delivery: WebhookDelivery, claim: String?, due: Timestamp?)]) async throws {
        let rows: [SQL] = deliveries.map { delivery, claim, due in
            """
            (\(delivery.id), \(tenant), \(delivery.webhookEndpoint), \(delivery.event), \(delivery.status.rawValue), \(due), \(claim),
             \(claim == nil ? nil : now), \(delivery.serializedString), \(delivery.createdAt))
            """
        }
        // Bounded batches: SQLite caps a statement's parameters.
        for start in stride(from: 0, to: rows.count, by: 100) {
            try await sql.execute("""
                INSERT INTO webhook_deliveries (id, tenant_id, endpoint_id, event_id, status, next_attempt_at, claim, claimed_at, data, created_at)
                VALUES
                """ + SQL.joined(Array(rows[start..<min(start + 100, rows.count)]), separator: ", "))
        }
    }

    /// Up to each endpoint's limit of its due deliveries, row-locked, in one statement; rows
    /// another process is claiming are skipped rather than waited for. The outer conditions are
    /// checked again on the locked rows, so a row claimed meanwhile is never claimed twice.
    public func due(_ limits: [(endpoint: WebhookEndpointID, limit: Int)]) async throws -> [StoredWebhookDelivery] {
        var found: [StoredWebhookDelivery] = []
        for statement in dueStatements(limits) { found += try await sql.query(statement).map(decodeStoredDelivery) }
        return found
    }

    /// `due`'s statements, a hundred endpoints each (SQLite caps a compound select's terms).
    func dueStatements(_ limits: [(endpoint: WebhookEndpointID, limit: Int)]) -> [SQL] {
        let firsts: [SQL] = limits.enumerated().map { index, limit in
            """
            SELECT id FROM (SELECT id FROM webhook_deliveries
                WHERE tenant_id = \(tenant) AND endpoint_id = \(limit.endpoint) AND status = '\(raw: WebhookDelivery.Status.pending.rawValue)' AND next_attempt_at <= \(now)
                ORDER BY next_attempt_at LIMIT \(limit.limit)) AS due\(raw: String(index))
            """
        }
        return stride(from: 0, to: firsts.count, by: 100).map { start in
            // The rows are found by id; the tenant is only checked (SQLite would otherwise read all
            // of the tenant's deliveries through an index that leads with it).
            "SELECT data, claim, claimed_at FROM webhook_deliveries WHERE " + SQL.notSearched + """
                tenant_id = \(tenant) AND status = '\(raw: WebhookDelivery.Status.pending.rawValue)' AND next_attempt_at <= \(now) AND id IN (
                """ + SQL.joined(Array(firsts[start..<min(start + 100, firsts.count)]), separator: " UNION ALL ")
                + ") ORDER BY next_attempt_at" + SQL.forUpdateSkipLocked
        }
    }

    /// Those of the deliveries that their claims still hold (a lease may have passed to another
    /// process), locked, with when each was claimed. A row a claim still holds is as its claimer
    /// wrote it, so the claimer's copy is current and the row's body is not read again.
    public func claimed(_ held: [(WebhookDeliveryID, claim: String)]) async throws -> [WebhookDeliveryID: Timestamp] {
        var found: [WebhookDeliveryID: Timestamp] = [:]
        let claims = Dictionary(held.map { ($0.0, $0.claim) }, uniquingKeysWith: { first, _ in first })
        // Bounded batches: SQLite caps a statement's parameters.
        for start in stride(from: 0, to: held.count, by: 500) {
            let ids = held[start..<min(start + 500, held.count)].map(\.0)
            for row in try await sql.query("SELECT id, claim, claimed_at FROM webhook_deliveries WHERE " + SQL.rows(ids, ofTenant: tenant)
                                           + SQL.forUpdate) {
                let id: WebhookDeliveryID = try row.id("id")
                if let claim = try row.optionalString("claim"), claims[id] == claim { found[id] = try row.optionalTimestamp("claimed_at") ?? now }
            }
        }
        return found
    }

    /// Writes deliveries, a hundred per statement (one round trip, not one each); `claim` is the
    /// sender's hold on each (nil when no attempt is in flight), `due` when it may next be picked
    /// up (the lease's end while claimed). Only rows this transaction locked are passed: an upsert
    /// by id of rows that exist, so it never inserts, and a row of another tenant is left alone.
    public func update(_ changes: [(delivery: WebhookDelivery, claim: String?, due: Timestamp?)]) async throws {
        let rows: [SQL] = changes.map { delivery, claim, due in
            """
            (\(delivery.id), \(tenant), \(delivery.webhookEndpoint), \(delivery.event), \(delivery.status.rawValue), \(due), \(claim),
             \(claim == nil ? nil : now), \(delivery.status == .succeeded ? now : nil), \(delivery.serializedString), \(delivery.createdAt))
            """
        }
        for start in stride(from: 0, to: rows.count, by: 100) {
            try await sql.execute("""
                INSERT INTO webhook_deliveries (id, tenant_id, endpoint_id, event_id, status, next_attempt_at, claim, claimed_at, succeeded_at,
                                                data, created_at) VALUES
                """ + SQL.joined(Array(rows[start..<min(start + 100, rows.count)]), separator: ", ") + """

                ON CONFLICT (id) DO UPDATE SET status = excluded.status, next_attempt_at = excluded.next_attempt_at, claim = excluded.claim,
                    claimed_at = excluded.claimed_at, succeeded_at = excluded.succeeded_at, data = excluded.data
                WHERE webhook_deliveries.tenant_id = excluded.tenant_id
                """)
        }
    }

    /// Writes attempts' outcomes, each only where its claim still holds (a lease may have passed
    /// to another process, or the endpoint was deleted), and answers those written. The claim is
    /// checked by the statement that writes, a hundred rows each, with no read of the rows first.
    /// A concluded delivery is no longer claimed; `due` is when it may next be picked up.
    public func conclude(_ changes: [(delivery: WebhookDelivery, heldBy: String, due: Timestamp?)]) async throws -> Set<WebhookDeliveryID> {
        let rows: [SQL] = changes.map { delivery, claim, due in
            """
            (\(delivery.id), \(claim), \(delivery.status.rawValue), \(due), \(delivery.status == .succeeded ? now : nil), \(delivery.serializedString))
            """
        }
        var written: Set<WebhookDeliveryID> = []
        for start in stride(from: 0, to: rows.count, by: 100) {
            // Times are cast: a column of NULLs alone in VALUES has no type on PostgreSQL.
            for row in try await sql.query("""
                WITH outcome (delivery_id, held_by, status, due, succeeded_at, data) AS (VALUES
                """ + SQL.joined(Array(rows[start..<min(start + 100, rows.count)]), separator: ", ") + """
                )
                UPDATE webhook_deliveries SET status = outcome.status, next_attempt_at = CAST(outcome.due AS BIGINT), claim = NULL,
                    claimed_at = NULL, succeeded_at = CAST(outcome.succeeded_at AS BIGINT), data = outcome.data
                FROM outcome
                WHERE webhook_deliveries.id = outcome.delivery_id AND webhook_deliveries.tenant_id = \(tenant)
                    AND webhook_deliveries.claim = outcome.held_by
                RETURNING id
                """) {
                written.insert(try row.id("id"))
            }
        }
        return written
    }

    /// Whether any delivery to the endpoint succeeded at or after `since`.
    public func succeeded(_ endpoint: WebhookEndpointID, since: Timestamp) async throws -> Bool {
        try await sql.queryOne("""
            SELECT 1 AS found FROM webhook_deliveries WHERE tenant_id = \(tenant) AND endpoint_id = \(endpoint) AND succeeded_at >= \(since) LIMIT 1
            """) != nil
    }

    public func delete(endpoint: WebhookEndpointID) async throws {
        try await sql.execute("DELETE FROM webhook_deliveries WHERE tenant_id = \(tenant) AND endpoint_id = \(endpoint)")
    }

    private func decodeStoredDelivery(_ row: SQLRow) throws -> StoredWebhookDelivery {
        StoredWebhookDelivery(delivery: try row.json("data"), claim: try row.optionalString("claim"), claimedAt: try row.optionalTimestamp("claimed_at"))
    }
}

extension EventRepository {
    /// Events by id, as `GET /events/{id}` answers them.
    public func findAll(_ ids: [EventID]) async throws -> [EventID: Event] {
        guard !ids.isEmpty else { return [:] }
        let events = try await base.decodeEvents(try await sql.query("SELECT * FROM events WHERE " + SQL.rows(ids, ofTenant: tenant)))
        return Dictionary(events.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    }
}

extension EventRepository where Scope == WriteTransaction {
    /// Events after `sequence`, in order: id, type, sequence and time (their bodies are read when sent).
    public func heads(after sequence: Int64, limit: Int) async throws -> [(id: EventID, type: String, sequence: Int64, createdAt: Timestamp)] {
        try await sql.query("""
            SELECT id, type, sequence, created_at FROM events WHERE tenant_id = \(tenant) AND sequence > \(sequence) ORDER BY sequence LIMIT \(limit)
            """).map { (try $0.id("id"), try $0.string("type"), try $0.int("sequence"), try $0.timestamp("created_at")) }
    }
}
