/// `zentra.cards`: issue, fund, lock and configure cards.
public struct Cards: Sendable {
    let transport: Transport

    /// Issues a card (emits `card.issued`). Fails with `.kycRequired`, `.cardLimitReached` or
    /// `.invalidCurrency` (422), or `.resourceMissing` for an unknown customer, account or program.
    /// - Parameters:
    ///   - program: optional when the tenant has exactly one card program.
    ///   - spendLimitMinor: shorthand for a monthly limit.
    public func issue(
        customer: String, account: String, program: String? = nil, type: CardType? = nil, spendLimitMinor: Int64? = nil,
        spendControls: SpendControls? = nil, geofenceEnabled: Bool? = nil, geofenceRadiusKm: Int? = nil,
        shipping: ShippingAddress? = nil, idempotencyKey: String? = nil
    ) async throws -> Card {
        try await transport.post("/cards", .object(omittingNil: [
            "customer": customer.json, "account": account.json, "program": program?.json, "type": type?.json,
            "spend_limit_minor": spendLimitMinor?.json, "spend_controls": try spendControls.map(JSONValue.init(encoding:)),
            "geofence_enabled": geofenceEnabled?.json, "geofence_radius_km": geofenceRadiusKm?.json,
            "shipping": try shipping.map(JSONValue.init(encoding:)),
        ]), idempotency: .key(idempotencyKey))
    }

    /// The card with its spend per window and what remains of each limit.
    public func get(_ id: String) async throws -> Card {
        try await transport.get("/cards/" + id.pathSegment)
    }

    public func list(customer: String? = nil, status: Card.Status? = nil, pageSize: Int = 20) -> ZentraList<Card> {
        ZentraList(transport: transport, path: "/cards", query: ["customer": customer, "status": status?.rawValue], pageSize: pageSize)
    }

    /// Moves money from the customer's wallet to the card (emits `card.funded`). `.insufficientFunds`
    /// (402) when the wallet holds less. `transactionReference` names the funding: stable across your
    /// own retries and unique per funding; the same reference with another amount is 409
    /// `transaction_reference_conflict`.
    public func fund(_ id: String, amountMinor: Int64, source: String = "wallet", transactionReference: String,
                     idempotencyKey: String? = nil) async throws -> CardFunding {
        try await transport.post("/cards/\(id.pathSegment)/fund", [
            "amount_minor": amountMinor.json, "source": source.json, "transaction_reference": transactionReference.json,
        ], idempotency: .key(idempotencyKey))
    }

    /// Every authorization on a locked card is declined (`card_locked`).
    public func lock(_ id: String, reason: String? = nil, idempotencyKey: String? = nil) async throws -> Card {
        try await transport.post("/cards/\(id.pathSegment)/lock", .object(omittingNil: ["reason": reason?.json]),
                                 idempotency: .key(idempotencyKey))
    }

    public func unlock(_ id: String, reason: String? = nil, idempotencyKey: String? = nil) async throws -> Card {
        try await transport.post("/cards/\(id.pathSegment)/unlock", .object(omittingNil: ["reason": reason?.json]),
                                 idempotency: .key(idempotencyKey))
    }

    /// Replaces the security settings given; those left nil stay as they are.
    public func updateSecurity(_ id: String, _ security: CardSecurity, idempotencyKey: String? = nil) async throws -> Card {
        try await transport.post("/cards/\(id.pathSegment)/security", try JSONValue(encoding: security), idempotency: .key(idempotencyKey))
    }

    /// Closes a card for good (operator or admin key). There is no way back: lock a card to stop it for now.
    public func close(_ id: String, reason: String? = nil, idempotencyKey: String? = nil) async throws -> Card {
        try await transport.post("/operator/cards/\(id.pathSegment)/close", .object(omittingNil: ["reason": reason?.json]),
                                 idempotency: .key(idempotencyKey))
    }

    /// PAN, CVV and expiry: admin keys only, for programs with sensitive details enabled; every read
    /// is audited. Otherwise 403 `.sensitiveDetailsUnavailable`.
    public func sensitiveDetails(_ id: String) async throws -> CardSensitiveDetails {
        try await transport.get("/cards/\(id.pathSegment)/sensitive")
    }
}
