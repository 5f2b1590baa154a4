import ZentraCore
import ZentraStorage

public struct CreateWebhookEndpoint: Sendable, Decodable {
    public var url: String
    public var eventTypes: [String]
    public var description: String?
}

public struct UpdateWebhookEndpoint: Sendable, Decodable {
    public var url: String?
    public var eventTypes: [String]?
    public var description: String?
}

public struct RotateWebhookSecret: Sendable, Decodable {
    /// How long deliveries are also signed with the old secret; default a day, at most a week.
    public var gracePeriodSeconds: Int64?
}

/// Webhook endpoints (admin keys): the signing secret is shown once at creation and at each
/// rotation, and stored sealed with the card data key. A rotation keeps the previous secret for a
/// grace period, so a receiver can switch without missing a delivery (Standard Webhooks allows
/// several signatures in one header).
public enum WebhookEndpointService {
    static let secretPurpose = "webhook_endpoint_secret"
    static let previousSecretPurpose = "webhook_endpoint_previous_secret"
    public static let defaultGraceSeconds: Int64 = 86_400
    public static let maximumGraceSeconds: Int64 = 7 * 86_400

    public static func create(_ input: CreateWebhookEndpoint, urlPolicy: OutboundURLPolicy, vault: CardVault, in tx: WriteTransaction)
        async throws -> (WebhookEndpoint, secret: String)
    {
        let endpoint = WebhookEndpoint(
            id: tx.newID(), url: try urlPolicy.validate(input.url, param: "url"), eventTypes: try WebhookEndpoint.validEventTypes(input.eventTypes),
            description: try input.description.map { try Validate.text($0, "description", max: 500) }, status: .enabled,
            previousSecretExpiresAt: nil, createdAt: tx.now, updatedAt: tx.now)
        let secret = WebhookSignature.newSecret()
        try await tx.webhookEndpoints.insert(endpoint, sealedSecret: try vault.seal(secret: secret, tenant: tx.tenant, purpose: secretPurpose))
        try await tx.webhookDeliveries.startStream(endpoint.id)
        try record(endpoint, event: .webhookEndpointCreated, in: tx)
        return (endpoint, secret)
    }

    public static func update(_ id: WebhookEndpointID, _ input: UpdateWebhookEndpoint, urlPolicy: OutboundURLPolicy, in tx: WriteTransaction) async throws -> WebhookEndpoint {
        var (endpoint, _, _) = try await lock(id, in: tx)
        if let url = input.url { endpoint.url = try urlPolicy.validate(url, param: "url") }
        if let types = input.eventTypes { endpoint.eventTypes = try WebhookEndpoint.validEventTypes(types) }
        if let description = input.description { endpoint.description = try Validate.text(description, "description", max: 500) }
        return try await save(endpoint, event: .webhookEndpointUpdated, in: tx)
    }

    public static func setStatus(_ id: WebhookEndpointID, _ status: WebhookEndpoint.Status, in tx: WriteTransaction) async throws -> WebhookEndpoint {
        var (endpoint, _, _) = try await lock(id, in: tx)
        if status != endpoint.status { try await moveStream(endpoint.id, enabled: status == .enabled, in: tx) }
        endpoint.status = status
        endpoint.disabledReason = status == .disabled ? .manual : nil
        return try await save(endpoint, event: status == .enabled ? .webhookEndpointEnabled : .webhookEndpointDisabled, in: tx)
    }

    /// Disables an endpoint for delivery's own reasons (410 Gone, a spent schedule); nothing
    /// happens when it is already disabled, so several failing deliveries say it once.
    static func disable(_ id: WebhookEndpointID, reason: WebhookEndpoint.DisabledReason, in tx: WriteTransaction) async throws {
        guard var endpoint = try await tx.webhookEndpoints.withSecrets(id, forUpdate: true)?.0, endpoint.status == .enabled else { return }
        try await moveStream(id, enabled: false, in: tx)
        endpoint.status = .disabled
        endpoint.disabledReason = reason
        _ = try await save(endpoint, event: .webhookEndpointDisabled, in: tx)
    }

    /// Disabled, an endpoint's stream keeps what it has not reached as owed; enabled again, it is
    /// sent what it was owed, then what happens from now on (like a new endpoint): never what
    /// happened while it was disabled.
    static func moveStream(_ id: WebhookEndpointID, enabled: Bool, in tx: WriteTransaction) async throws {
        guard let (stream, head) = try await tx.webhookDeliveries.stream(id) else { return }
        try await tx.webhookDeliveries.setStreams([(id, enabled ? stream.enabled(head: head) : stream.disabled(head: head))])
    }

    public static func delete(_ id: WebhookEndpointID, in tx: WriteTransaction) async throws -> WebhookEndpoint {
        let (endpoint, _, _) = try await lock(id, in: tx)
        try await tx.webhookEndpoints.delete(endpoint.id)
        try await tx.webhookDeliveries.delete(endpoint: endpoint.id)
        try record(endpoint, event: .webhookEndpointDeleted, in: tx)
        return endpoint
    }

    /// A new secret; the one it replaces stays valid for the grace period.
    public static func rotate(_ id: WebhookEndpointID, _ input: RotateWebhookSecret, vault: CardVault, in tx: WriteTransaction)
        async throws -> (WebhookEndpoint, secret: String)
    {
        let grace = input.gracePeriodSeconds ?? defaultGraceSeconds
        guard (0...maximumGraceSeconds).contains(grace) else {
            throw DomainError.parameterInvalid("grace_period_seconds", "must be from 0 to \(maximumGraceSeconds)")
        }
        var (endpoint, sealed, _) = try await lock(id, in: tx)
        let previous = try vault.open(secret: sealed, tenant: tx.tenant, purpose: secretPurpose)
        let secret = WebhookSignature.newSecret()
        endpoint.previousSecretExpiresAt = grace > 0 ? tx.now.adding(seconds: grace) : nil
        endpoint.updatedAt = tx.now
        try await tx.webhookEndpoints.update(endpoint, secrets: (
            current: try vault.seal(secret: secret, tenant: tx.tenant, purpose: secretPurpose),
            previous: grace > 0 ? try vault.seal(secret: previous, tenant: tx.tenant, purpose: previousSecretPurpose) : nil))
        try record(endpoint, event: .webhookEndpointSecretRotated, in: tx)
        return (endpoint, secret)
    }

    static func lock(_ id: WebhookEndpointID, in tx: WriteTransaction) async throws -> (WebhookEndpoint, [UInt8], [UInt8]?) {
        guard let found = try await tx.webhookEndpoints.withSecrets(id, forUpdate: true) else { throw DomainError.resourceMissing("webhook_endpoint", id: id.rawValue) }
        return (found.0, found.secret, found.previous)
    }

    static func save(_ endpoint: WebhookEndpoint, event: EventType, in tx: WriteTransaction) async throws -> WebhookEndpoint {
        var endpoint = endpoint
        endpoint.updatedAt = tx.now
        try await tx.webhookEndpoints.update(endpoint)
        try record(endpoint, event: event, in: tx)
        return endpoint
    }

    static func record(_ endpoint: WebhookEndpoint, event: EventType, in tx: WriteTransaction) throws {
        try tx.emit(event, objectType: .webhookEndpoint, objectID: endpoint.id.rawValue, data: endpoint)
        tx.audit(.event(event), objectType: .webhookEndpoint, objectID: endpoint.id.rawValue, context: .object([
            "url": .string(endpoint.url), "event_types": .array(endpoint.eventTypes.map(JSONValue.string)),
            "status": .string(endpoint.status.rawValue), "disabled_reason": endpoint.disabledReason.map { .string($0.rawValue) } ?? .null,
        ]))
    }
}
