/// `zentra.ledger`: the double-entry ledger, read-only.
public struct Ledger: Sendable {
    let transport: Transport

    /// Every ledger account of the tenant with its totals; per currency, debits equal credits.
    public func accounts(pageSize: Int = 20) -> ZentraList<LedgerAccount> {
        ZentraList(transport: transport, path: "/ledger/accounts", pageSize: pageSize)
    }

    public func account(_ id: String) async throws -> LedgerAccount {
        try await transport.get("/ledger/accounts/" + id.pathSegment)
    }

    /// The entries of one ledger account, newest first.
    public func entries(account id: String, pageSize: Int = 20) -> ZentraList<LedgerEntry> {
        ZentraList(transport: transport, path: "/ledger/accounts/\(id.pathSegment)/entries", pageSize: pageSize)
    }

    public func journalEntry(_ id: String) async throws -> JournalEntry {
        try await transport.get("/ledger/journal-entries/" + id.pathSegment)
    }
}

/// `zentra.events`: every state change, newest first.
public struct Events: Sendable {
    let transport: Transport

    public func list(type: String? = nil, pageSize: Int = 20) -> ZentraList<Event> {
        ZentraList(transport: transport, path: "/events", query: ["type": type], pageSize: pageSize)
    }

    public func get(_ id: String) async throws -> Event {
        try await transport.get("/events/" + id.pathSegment)
    }

    /// Sends the event again, with the same `webhook-id`, to every subscribed endpoint or to one.
    public func redeliver(_ id: String, webhookEndpoint: String? = nil, idempotencyKey: String? = nil) async throws -> [WebhookDelivery] {
        let page: Page<WebhookDelivery> = try await transport.post(
            "/events/\(id.pathSegment)/redeliver", .object(omittingNil: ["webhook_endpoint": webhookEndpoint?.json]),
            idempotency: .key(idempotencyKey))
        return page.data
    }
}

/// `zentra.webhookEndpoints`: where events are delivered (admin key).
public struct WebhookEndpoints: Sendable {
    let transport: Transport

    /// The answer's `secret` is shown this once: keep it for `Webhook(secret:)`.
    public func create(url: String, eventTypes: [String], description: String? = nil, idempotencyKey: String? = nil) async throws -> WebhookEndpoint {
        try await transport.post("/webhook-endpoints", .object(omittingNil: [
            "url": url.json, "event_types": eventTypes.json, "description": description?.json,
        ]), idempotency: .key(idempotencyKey))
    }

    public func get(_ id: String) async throws -> WebhookEndpoint {
        try await transport.get("/webhook-endpoints/" + id.pathSegment)
    }

    public func list(pageSize: Int = 20) -> ZentraList<WebhookEndpoint> {
        ZentraList(transport: transport, path: "/webhook-endpoints", pageSize: pageSize)
    }

    public func update(_ id: String, url: String? = nil, eventTypes: [String]? = nil, description: String? = nil,
                       idempotencyKey: String? = nil) async throws -> WebhookEndpoint {
        try await transport.post("/webhook-endpoints/" + id.pathSegment, .object(omittingNil: [
            "url": url?.json, "event_types": eventTypes?.json, "description": description?.json,
        ]), idempotency: .key(idempotencyKey))
    }

    public func delete(_ id: String) async throws -> DeletedObject {
        try await transport.delete("/webhook-endpoints/" + id.pathSegment)
    }

    /// A new secret (in this answer only); the old one keeps signing beside it for the grace period.
    public func rotateSecret(_ id: String, gracePeriodSeconds: Int? = nil, idempotencyKey: String? = nil) async throws -> WebhookEndpoint {
        try await transport.post("/webhook-endpoints/\(id.pathSegment)/rotate-secret",
                                 .object(omittingNil: ["grace_period_seconds": gracePeriodSeconds?.json]), idempotency: .key(idempotencyKey))
    }

    public func enable(_ id: String, idempotencyKey: String? = nil) async throws -> WebhookEndpoint {
        try await transport.post("/webhook-endpoints/\(id.pathSegment)/enable", idempotency: .key(idempotencyKey))
    }

    public func disable(_ id: String, idempotencyKey: String? = nil) async throws -> WebhookEndpoint {
        try await transport.post("/webhook-endpoints/\(id.pathSegment)/disable", idempotency: .key(idempotencyKey))
    }

    /// The endpoint's deliveries with every attempt.
    public func deliveries(_ id: String, status: WebhookDelivery.Status? = nil, pageSize: Int = 20) -> ZentraList<WebhookDelivery> {
        ZentraList(transport: transport, path: "/webhook-endpoints/\(id.pathSegment)/deliveries", query: ["status": status?.rawValue],
                   pageSize: pageSize)
    }
}

/// `zentra.runtime`: workflows as runtime intents.
public struct Runtime: Sendable {
    public let intents: RuntimeIntents

    init(transport: Transport) { intents = RuntimeIntents(transport: transport) }
}

/// `zentra.runtime.intents`.
public struct RuntimeIntents: Sendable {
    let transport: Transport

    /// Runs a workflow; `intentID` is its idempotency key, so a retry answers the same intent.
    public func create(intentID: String, scope: String? = nil, moneyModel: String = "minor_units + ledger_currency",
                       primitives: [String]? = nil, operation: IntentOperation? = nil) async throws -> RuntimeIntent {
        try await transport.post("/runtime/intents", .object(omittingNil: [
            "intent_id": intentID.json, "scope": scope?.json, "money_model": moneyModel.json,
            "primitives": primitives?.json, "operation": operation?.json,
        ]), idempotency: .natural)
    }

    /// By `int_` id or by the caller's `intent_id`; also the intents derived from authorizations,
    /// clearings, settlements and disputes (`int_<object id>`).
    public func get(_ id: String) async throws -> RuntimeIntent {
        try await transport.get("/runtime/intents/" + id.pathSegment)
    }

    public func list(pageSize: Int = 20) -> ZentraList<RuntimeIntent> {
        ZentraList(transport: transport, path: "/runtime/intents", pageSize: pageSize)
    }
}

/// `zentra.auditLog`: the hash-chained audit log.
public struct AuditLog: Sendable {
    let transport: Transport

    public func list(pageSize: Int = 20) -> ZentraList<AuditRecord> {
        ZentraList(transport: transport, path: "/audit-log", pageSize: pageSize)
    }

    /// Walks the whole chain on the server and reports the first broken link.
    public func verify() async throws -> AuditVerification {
        try await transport.get("/audit-log/verify")
    }
}
