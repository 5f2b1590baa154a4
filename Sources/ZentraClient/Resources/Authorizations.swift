/// `zentra.authorizations`: decisions, their evidence, the review queue, and the network's calls.
public struct Authorizations: Sendable {
    let transport: Transport

    /// `status: .review` is the operator review queue.
    public func list(status: Authorization.Status? = nil, card: String? = nil, pageSize: Int = 20) -> ZentraList<Authorization> {
        ZentraList(transport: transport, path: "/authorizations", query: ["status": status?.rawValue, "card": card], pageSize: pageSize)
    }

    public func get(_ id: String) async throws -> Authorization {
        try await transport.get("/authorizations/" + id.pathSegment)
    }

    /// The signed evidence packet of the decision (`zentra.evidence.verify` checks it).
    public func evidence(_ id: String) async throws -> EvidencePacket {
        try await EvidencePacket.fetch("/authorizations/\(id.pathSegment)/evidence", transport)
    }

    /// Settles a review (operator key).
    public func review(_ id: String, decision: ReviewDecision, note: String? = nil, idempotencyKey: String? = nil) async throws -> Authorization {
        try await transport.post("/authorizations/\(id.pathSegment)/review",
                                 .object(omittingNil: ["decision": decision.json, "note": note?.json]), idempotency: .key(idempotencyKey))
    }

    /// Asks for a decision as a card network would (network key). `networkReference` is the
    /// request's own idempotency key: a repeat answers the first decision.
    public func create(card: String, amountMinor: Int64, currency: String, merchant: Merchant, channel: Channel,
                       networkReference: String, deviceLocation: GeoPoint? = nil) async throws -> Authorization {
        try await transport.post("/authorizations", .object(omittingNil: [
            "card": card.json, "amount_minor": amountMinor.json, "currency": currency.json,
            "merchant": try JSONValue(encoding: merchant), "channel": channel.json,
            "network_reference": networkReference.json, "device_location": try deviceLocation.map(JSONValue.init(encoding:)),
        ]), idempotency: .natural)
    }

    /// Releases all of the hold, or `amountMinor` of it (network key).
    public func reverse(_ id: String, amountMinor: Int64? = nil, idempotencyKey: String? = nil) async throws -> Authorization {
        try await transport.post("/authorizations/\(id.pathSegment)/reversals",
                                 .object(omittingNil: ["amount_minor": amountMinor?.json]), idempotency: .key(idempotencyKey))
    }

    /// Asks for more on an approved authorization (network key); the result is the last of `adjustments`.
    public func increment(_ id: String, amountMinor: Int64, idempotencyKey: String? = nil) async throws -> Authorization {
        try await transport.post("/authorizations/\(id.pathSegment)/increments", ["amount_minor": amountMinor.json],
                                 idempotency: .key(idempotencyKey))
    }
}
