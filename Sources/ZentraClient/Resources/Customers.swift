/// `zentra.customers`: customers and their KYC status.
public struct Customers: Sendable {
    let transport: Transport

    public func create(name: String, email: String, kycStatus: KYCStatus? = nil, idempotencyKey: String? = nil) async throws -> Customer {
        try await transport.post("/customers", .object(omittingNil: [
            "name": name.json, "email": email.json, "kyc_status": kycStatus?.json,
        ]), idempotency: .key(idempotencyKey))
    }

    public func get(_ id: String) async throws -> Customer {
        try await transport.get("/customers/" + id.pathSegment)
    }

    public func list(pageSize: Int = 20) -> ZentraList<Customer> {
        ZentraList(transport: transport, path: "/customers", pageSize: pageSize)
    }

    /// Sets the KYC status (operator or admin key). Only `verified` customers get cards.
    public func updateKYC(_ id: String, status: KYCStatus, idempotencyKey: String? = nil) async throws -> Customer {
        try await transport.post("/customers/\(id.pathSegment)/kyc", ["status": status.json], idempotency: .key(idempotencyKey))
    }
}

/// `zentra.accounts`: a customer's money in one currency, and deposits into it.
public struct Accounts: Sendable {
    let transport: Transport

    public func create(customer: String, currency: String, kind: Account.Kind = .wallet, idempotencyKey: String? = nil) async throws -> Account {
        try await transport.post("/accounts", ["customer": customer.json, "currency": currency.json, "kind": kind.json],
                                 idempotency: .key(idempotencyKey))
    }

    public func get(_ id: String) async throws -> Account {
        try await transport.get("/accounts/" + id.pathSegment)
    }

    public func list(pageSize: Int = 20) -> ZentraList<Account> {
        ZentraList(transport: transport, path: "/accounts", pageSize: pageSize)
    }

    /// Brings outside money in. The same `transactionReference` with the same amount answers the
    /// deposit it made; with another amount, 409 `transaction_reference_conflict`.
    public func deposit(_ id: String, amountMinor: Int64, transactionReference: String, idempotencyKey: String? = nil) async throws -> Deposit {
        try await transport.post("/accounts/\(id.pathSegment)/deposits",
                                 ["amount_minor": amountMinor.json, "transaction_reference": transactionReference.json],
                                 idempotency: .key(idempotencyKey))
    }
}

/// `zentra.cardPrograms`: BIN, currency and the defaults of a family of cards.
public struct CardPrograms: Sendable {
    let transport: Transport

    public func create(
        name: String, currency: String, bin: String, maxCardsPerCustomer: Int? = nil, sensitiveDetailsEnabled: Bool? = nil,
        spendControls: SpendControls? = nil, reviewRules: [ReviewRule]? = nil, reviewOutcome: ReviewOutcome? = nil,
        holdLifetimeHours: Int? = nil, authorizationWebhook: AuthorizationWebhook? = nil, idempotencyKey: String? = nil
    ) async throws -> CardProgram {
        try await transport.post("/card-programs", .object(omittingNil: [
            "name": name.json, "currency": currency.json, "bin": bin.json,
            "max_cards_per_customer": maxCardsPerCustomer?.json, "sensitive_details_enabled": sensitiveDetailsEnabled?.json,
            "spend_controls": try spendControls.map(JSONValue.init(encoding:)),
            "review_rules": try reviewRules.map(JSONValue.init(encoding:)), "review_outcome": reviewOutcome?.json,
            "hold_lifetime_hours": holdLifetimeHours?.json,
            "authorization_webhook": try authorizationWebhook.map(JSONValue.init(encoding:)),
        ]), idempotency: .key(idempotencyKey))
    }

    public func get(_ id: String) async throws -> CardProgram {
        try await transport.get("/card-programs/" + id.pathSegment)
    }

    public func list(pageSize: Int = 20) -> ZentraList<CardProgram> {
        ZentraList(transport: transport, path: "/card-programs", pageSize: pageSize)
    }
}

/// `zentra.tenant`: the caller's tenant.
public struct Tenants: Sendable {
    let transport: Transport

    public func get() async throws -> Tenant {
        try await transport.get("/tenant")
    }

    /// Sets the IANA time zone that names every spend window's day, week and month (admin key).
    public func update(timeZone: String, idempotencyKey: String? = nil) async throws -> Tenant {
        try await transport.post("/tenant", ["time_zone": timeZone.json], idempotency: .key(idempotencyKey))
    }
}

/// `zentra.apiKeys`: the tenant's keys (admin key).
public struct APIKeys: Sendable {
    let transport: Transport

    /// A new key; its secret is `apiKey` of this answer, and never shown again.
    public func create(role: Role, name: String? = nil, idempotencyKey: String? = nil) async throws -> APIKey {
        try await transport.post("/api-keys", .object(omittingNil: ["role": role.json, "name": name?.json]),
                                 idempotency: .key(idempotencyKey))
    }

    public func list(pageSize: Int = 20) -> ZentraList<APIKey> {
        ZentraList(transport: transport, path: "/api-keys", pageSize: pageSize)
    }

    /// Revokes a key at once, on every server process.
    public func revoke(_ id: String) async throws -> APIKey {
        try await transport.delete("/api-keys/" + id.pathSegment)
    }
}

extension String {
    /// This string as one percent-encoded path segment.
    var pathSegment: String { Transport.escape(self) }
}
