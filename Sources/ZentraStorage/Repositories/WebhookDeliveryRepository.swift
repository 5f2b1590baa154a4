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
    /// Enabled endpoints with something to send: events past their stream (unless it is paused),
    /// deliveries due (pending, next attempt or lease end passed), or a claim whose lease passed;
    /// earliest due first. A disabled endpoint's deliveries wait, unclaimed, until it is enabled again.
    public static func dueEndpoints(now: Timestamp, limit: Int, engine: any DatabaseEngine) async throws -> [(TenantID, WebhookEndpointID)] {
        try await engine.withReader { sql in
            // Per endpoint, its first pending delivery in due order and its stream's place: index
            // probes each, however long the backlog.
            try await sql.query("""
                SELECT tenant_id, endpoint_id FROM (
                    SELECT e.tenant_id, e.id AS endpoint_id, (
                        SELECT d.next_attempt_at FROM webhook_deliveries d
                        WHERE d.tenant_id = e.tenant_id AND d.endpoint_id = e.id AND d.status = '\(raw: WebhookDelivery.Status.pending.rawValue)'
                        ORDER BY d.next_attempt_at LIMIT 1) AS due,
                        CASE WHEN (s.event_sequence < (SELECT t.event_sequence FROM tenants t WHERE t.id = e.tenant_id)
                                   AND (s.paused_until IS NULL OR s.paused_until <= \(now)))
                            OR EXISTS (SELECT 1 FROM webhook_claims c WHERE c.tenant_id = e.tenant_id AND c.endpoint_id = e.id AND c.lease_until <= \(now)) THEN 1 ELSE 0 END AS behind
                    FROM webhook_endpoints e JOIN webhook_streams s ON s.endpoint_id = e.id
                    WHERE e.status = '\(raw: WebhookEndpoint.Status.enabled.rawValue)') AS firsts
                WHERE due <= \(now) OR behind = 1 ORDER BY COALESCE(due, \(now)) LIMIT \(limit)
                """).map { (try $0.id("tenant_id"), try $0.id("endpoint_id")) }
        }
    }
}

extension WebhookOutbox {
    /// Deliveries not finished yet of every endpoint: those claimed and in flight, those waiting
    /// between attempts, and the events its stream has not reached (counted whatever their type:
    /// reading their types would make every scrape read the backlog; the stream passes over
    /// those of other types without a send; for a disabled endpoint, those still owed to it).
    /// Zero exactly when the endpoint is caught up. With it, whether the endpoint's stream is
    /// paused (it fails every attempt).
    public static func backlog(engine: any DatabaseEngine) async throws -> [WebhookEndpointID: (deliveries: Int64, paused: Bool)] {
        try await engine.withReader { sql in
            var backlog: [WebhookEndpointID: (deliveries: Int64, paused: Bool)] = [:]
            for row in try await sql.query("""
                SELECT e.id, e.status, s.event_sequence, s.failures, s.failing_since, s.paused_until, s.owed_through, s.resume_after,
                    t.event_sequence AS head,
                    (SELECT COUNT(*) FROM webhook_deliveries d
                     WHERE d.tenant_id = e.tenant_id AND d.endpoint_id = e.id AND d.status = '\(raw: WebhookDelivery.Status.pending.rawValue)') AS pending,
                    (SELECT CAST(COALESCE(SUM(c.deliveries), 0) AS BIGINT) FROM webhook_claims c WHERE c.tenant_id = e.tenant_id AND c.endpoint_id = e.id) AS claimed
                FROM webhook_endpoints e JOIN webhook_streams s ON s.endpoint_id = e.id JOIN tenants t ON t.id = e.tenant_id
                """) {
                let stream = try WebhookStream(row: row)
                let unreached = stream.unreached(head: try row.int("head"), enabled: try row.string("status") == WebhookEndpoint.Status.enabled.rawValue)
                backlog[try row.id("id")] = (try row.int("pending") + row.int("claimed") + unreached, stream.health.pausedUntil != nil)
            }
            return backlog
        }
    }
}

/// Each endpoint's stream of events: the events table in order, read from the endpoint's place in
/// it. A range of it is claimed (a `webhook_claims` row) by the process that sends it, and an event
/// becomes a delivery row only when its first attempt is recorded (or its claim is taken over).
public enum WebhookStreams {
    /// How far past its place one claim looks for an endpoint's events: bounds the events read
    /// for an endpoint that subscribes to few types.
    public static let window = 2_000

    /// The condition on `type` for events of these patterns (the SQL of
    /// `WebhookEndpoint.subscribes(to:)`); nil for `*`, every event.
    static func subscribed(_ patterns: [String]) -> SQL? {
        guard !patterns.contains("*") else { return nil }
        let terms: [SQL] = patterns.map { pattern in
            guard pattern.hasSuffix(".*") else { return "type = \(pattern)" }
            let prefix = String(pattern.dropLast())
            return "substr(type, 1, \(raw: String(prefix.utf8.count))) = \(prefix)"
        }
        return "(" + SQL.joined(terms, separator: " OR ") + ")"
    }
}

extension WebhookStream {
    /// A `webhook_streams` row.
    init(row: SQLRow) throws {
        self.init(position: try row.int("event_sequence"),
                  health: WebhookStreamHealth(failures: try row.int("failures"), failingSince: try row.optionalTimestamp("failing_since"),
                                              pausedUntil: try row.optionalTimestamp("paused_until")),
                  owedThrough: try row.optionalInt("owed_through"), resumeAfter: try row.optionalInt("resume_after"))
    }
}

/// A range of an endpoint's stream that one process holds while it sends it: the events after
/// `afterSequence` through `throughSequence` that the endpoint subscribes to, `deliveries` of them.
public struct WebhookClaim: Sendable, Hashable {
    public let id: String
    public let endpoint: WebhookEndpointID
    public let afterSequence: Int64
    public let throughSequence: Int64
    public let deliveries: Int64
    public let leaseUntil: Timestamp
    public let createdAt: Timestamp
}

/// An event's head, as delivery needs it: its body is read when sent.
public struct EventHead: Sendable, Hashable {
    public let id: EventID
    public let type: String
    public let sequence: Int64
    public let createdAt: Timestamp
}

/// Webhook deliveries of the tenant's events to its endpoints, the streams they are read from, and the claims on them.
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
    /// Starts a new endpoint's stream at the tenant's latest event: it is sent only what happens
    /// from now on (this transaction's own events included).
    public func startStream(_ endpoint: WebhookEndpointID) async throws {
        try await sql.execute("""
            INSERT INTO webhook_streams (endpoint_id, tenant_id, event_sequence) SELECT \(endpoint), id, event_sequence FROM tenants WHERE id = \(tenant)
            """)
    }

    /// The streams of these endpoints that no other process is claiming from, row-locked, with
    /// the tenant's latest event as this statement saw it: every event up to it has committed.
    public func lockedStreams(_ endpoints: [WebhookEndpointID]) async throws -> [WebhookEndpointID: (stream: WebhookStream, head: Int64)] {
        guard !endpoints.isEmpty else { return [:] }
        return try await streams(endpoints, lock: SQL.forUpdateSkipLocked)
    }

    /// The endpoint's stream, row-locked (waiting for a claim that holds it), with the tenant's latest event.
    public func stream(_ endpoint: WebhookEndpointID) async throws -> (stream: WebhookStream, head: Int64)? {
        try await streams([endpoint], lock: SQL.forUpdate)[endpoint]
    }

    /// The health of these endpoints' streams: unlocked, so that recording a healthy endpoint's
    /// attempts never waits for a claim; or `locked` (waiting for a claim that holds a stream, as
    /// a claim writes its stream whole), to write a change from.
    public func streamHealth(_ endpoints: [WebhookEndpointID], locked: Bool = false) async throws -> [WebhookEndpointID: WebhookStreamHealth] {
        guard !endpoints.isEmpty else { return [:] }
        return try await streams(endpoints, lock: locked ? SQL.forUpdate : "").mapValues(\.stream.health)
    }

    private func streams(_ endpoints: [WebhookEndpointID], lock: SQL) async throws -> [WebhookEndpointID: (stream: WebhookStream, head: Int64)] {
        var found: [WebhookEndpointID: (stream: WebhookStream, head: Int64)] = [:]
        for row in try await sql.query("""
            SELECT endpoint_id, event_sequence, failures, failing_since, paused_until, owed_through, resume_after,
                (SELECT event_sequence FROM tenants WHERE id = \(tenant)) AS head
            FROM webhook_streams WHERE tenant_id = \(tenant) AND endpoint_id IN (
            """ + SQL.joined(endpoints.map { "\($0)" }, separator: ", ") + ")" + lock) {
            found[try row.id("endpoint_id")] = (try WebhookStream(row: row), try row.int("head"))
        }
        return found
    }

    /// Writes the health of these endpoints' streams.
    public func setStreamHealth(_ health: [(endpoint: WebhookEndpointID, health: WebhookStreamHealth)]) async throws {
        var rows = BulkRows("webhook_streams", Self.streamKeys + Self.healthColumns)
        for (endpoint, health) in health { rows.append([endpoint.sqlValue, tenant.sqlValue] + Self.healthValues(health)) }
        try await sql.update(rows, keys: 2)
    }

    /// Writes these endpoints' streams whole.
    public func setStreams(_ streams: [(endpoint: WebhookEndpointID, stream: WebhookStream)]) async throws {
        var rows = BulkRows("webhook_streams", Self.streamKeys + [.init("event_sequence", .bigint)] + Self.healthColumns
                            + [.init("owed_through", .bigint), .init("resume_after", .bigint)])
        for (endpoint, stream) in streams {
            rows.append([endpoint.sqlValue, tenant.sqlValue, stream.position.sqlValue] + Self.healthValues(stream.health)
                        + [stream.owedThrough.sqlValue, stream.resumeAfter.sqlValue])
        }
        try await sql.update(rows, keys: 2)
    }

    private static let streamKeys: [BulkRows.Column] = [.init("endpoint_id", .text), .init("tenant_id", .text)]
    private static let healthColumns: [BulkRows.Column] = [.init("failures", .bigint), .init("failing_since", .bigint), .init("paused_until", .bigint)]
    private static func healthValues(_ health: WebhookStreamHealth) -> [SQLValue] {
        [health.failures.sqlValue, health.failingSince.sqlValue, health.pausedUntil.sqlValue]
    }

    /// Per range, up to `limit` events after `after` through `through` of the endpoint's types, in
    /// order; in one statement per hundred ranges (SQLite caps a compound select's terms).
    public func streamEvents(_ ranges: [(after: Int64, through: Int64, eventTypes: [String], limit: Int)]) async throws -> [[EventHead]] {
        var found = Array(repeating: [EventHead](), count: ranges.count)
        for statement in streamStatements(ranges) {
            for row in try await sql.query(statement) {
                found[Int(try row.int("range_index"))].append(EventHead(id: try row.id("id"), type: try row.string("type"),
                                                                        sequence: try row.int("sequence"), createdAt: try row.timestamp("created_at")))
            }
        }
        return found.map { $0.sorted { $0.sequence < $1.sequence } }
    }

    /// `streamEvents`' statements, a hundred ranges each (SQLite caps a compound select's terms).
    func streamStatements(_ ranges: [(after: Int64, through: Int64, eventTypes: [String], limit: Int)]) -> [SQL] {
        let selects: [SQL] = ranges.enumerated().map { index, range in
            """
            SELECT * FROM (SELECT \(raw: String(index)) AS range_index, id, type, sequence, created_at FROM events
                WHERE tenant_id = \(tenant) AND sequence > \(range.after) AND sequence <= \(range.through)
            """ + (WebhookStreams.subscribed(range.eventTypes).map { " AND " + $0 } ?? "")
                + " ORDER BY sequence LIMIT \(range.limit)) AS range\(raw: String(index))"
        }
        return stride(from: 0, to: selects.count, by: 100).map { start in
            SQL.joined(Array(selects[start..<min(start + 100, selects.count)]), separator: " UNION ALL ")
        }
    }

    /// Records claims on ranges of streams, made now, and writes each stream as the claim left it:
    /// moved past what it looked at (a probe handed out keeps it paused).
    public func claim(_ claims: [(id: String, endpoint: WebhookEndpointID, after: Int64, through: Int64, deliveries: Int)], leaseUntil: Timestamp,
                      moving streams: [(endpoint: WebhookEndpointID, stream: WebhookStream)]) async throws {
        var rows = BulkRows("webhook_claims", [
            .init("id", .text), .init("tenant_id", .text), .init("endpoint_id", .text), .init("after_sequence", .bigint),
            .init("through_sequence", .bigint), .init("deliveries", .bigint), .init("lease_until", .bigint), .init("created_at", .bigint),
        ])
        for claim in claims {
            rows.append([claim.id.sqlValue, tenant.sqlValue, claim.endpoint.sqlValue, claim.after.sqlValue, claim.through.sqlValue,
                         claim.deliveries.sqlValue, leaseUntil.sqlValue, now.sqlValue])
        }
        try await sql.insert(rows)
        try await setStreams(streams)
    }

    /// Claims whose lease has passed (their process stopped), locked; those another process is
    /// taking over are skipped.
    public func expiredClaims(limit: Int) async throws -> [WebhookClaim] {
        try await sql.query("""
            SELECT id, endpoint_id, after_sequence, through_sequence, deliveries, lease_until, created_at FROM webhook_claims
            WHERE tenant_id = \(tenant) AND lease_until <= \(now) ORDER BY lease_until LIMIT \(limit)
            """ + SQL.forUpdateSkipLocked).map { row in
            WebhookClaim(id: try row.string("id"), endpoint: try row.id("endpoint_id"), afterSequence: try row.int("after_sequence"),
                         throughSequence: try row.int("through_sequence"), deliveries: try row.int("deliveries"),
                         leaseUntil: try row.timestamp("lease_until"), createdAt: try row.timestamp("created_at"))
        }
    }

    /// Ends claims, and answers those that were still held: a claim another process took over
    /// after its lease is no longer there, and what its first holder sent is not written.
    public func endClaims(_ ids: [String]) async throws -> Set<String> {
        guard !ids.isEmpty else { return [] }
        var ended: Set<String> = []
        for start in stride(from: 0, to: ids.count, by: 500) {
            for row in try await sql.query("DELETE FROM webhook_claims WHERE " + SQL.rows(Array(ids[start..<min(start + 500, ids.count)]), ofTenant: tenant)
                                           + " RETURNING id") {
                ended.insert(try row.string("id"))
            }
        }
        return ended
    }

    /// New delivery rows: those a recorded first attempt concluded, those taken over from a stopped
    /// process, and redeliveries. `claim` is set on none: each is due at its `nextAttemptAt`.
    public func insert(_ deliveries: [WebhookDelivery]) async throws {
        var rows = BulkRows("webhook_deliveries", [
            .init("id", .text), .init("tenant_id", .text), .init("endpoint_id", .text), .init("event_id", .text), .init("status", .text),
            .init("next_attempt_at", .bigint), .init("succeeded_at", .bigint), .init("data", .text), .init("created_at", .bigint),
        ])
        for delivery in deliveries {
            rows.append([delivery.id.sqlValue, tenant.sqlValue, delivery.webhookEndpoint.sqlValue, delivery.event.sqlValue,
                         delivery.status.rawValue.sqlValue, delivery.nextAttemptAt.sqlValue,
                         (delivery.status == .succeeded ? delivery.updatedAt : nil).sqlValue, delivery.serializedString.sqlValue,
                         delivery.createdAt.sqlValue])
        }
        try await sql.insert(rows)
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

    /// Everything of the endpoint's delivery: its rows, claims and stream.
    public func delete(endpoint: WebhookEndpointID) async throws {
        for table in ["webhook_deliveries", "webhook_claims", "webhook_streams"] {
            try await sql.execute("DELETE FROM \(raw: table) WHERE tenant_id = \(tenant) AND endpoint_id = \(endpoint)")
        }
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
