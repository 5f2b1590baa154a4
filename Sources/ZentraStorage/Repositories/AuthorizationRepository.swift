import ZentraCore

/// Everything an authorization decision reads, row-locked on the card: the card and its balances,
/// its spend counters, its program's review rules and webhook, the tenant's time zone.
public struct AuthorizationContext: Sendable {
    public let card: Card
    public let counters: SpendCounters
    public let program: CardProgram
    public let webhookSecret: [UInt8]?
    public let timeZone: String
    /// The authorization an earlier request with the same `network_reference` made, if any.
    public let replayOf: AuthorizationID?
}

extension WriteTransaction {
    /// The program's columns, prefixed `p_` beside the card's.
    static let programColumns = ["id", "name", "currency", "bin", "max_cards_per_customer", "sensitive_details_enabled",
                                 "spend_controls", "review_rules", "review_outcome", "hold_lifetime_hours", "authorization_webhook",
                                 "authorization_webhook_secret", "created_at"].map { "p.\($0) AS p_\($0)" }.joined(separator: ", ")

    /// One statement: the card and its two ledger accounts locked, joined with what the policy needs.
    /// The ledger rows are locked too so that, under READ COMMITTED, a statement that waited for
    /// the lock reads their committed balances rather than the ones from before it waited.
    /// - Parameter networkReference: also answers whether a request with this reference was decided
    ///   before (in the same round trip); a concurrent first decision is caught by the unique index.
    public func lockedAuthorizationContext(_ id: CardID, networkReference: String? = nil) async throws -> AuthorizationContext {
        let replay: SQL = networkReference.map {
            ", (SELECT a.id FROM authorizations a WHERE a.tenant_id = \(tenant) AND a.network_reference = \($0)) AS replay_id"
        } ?? ", NULL AS replay_id"
        guard let row = try await sql.queryOne(
            "SELECT \(raw: Self.cardColumns), \(raw: Self.programColumns), t.time_zone AS t_time_zone" + replay
                + " FROM \(raw: Self.cardJoins) JOIN card_programs p ON p.id = c.program_id JOIN tenants t ON t.id = c.tenant_id"
                + " WHERE c.tenant_id = \(tenant) AND c.id = \(id)" + SQL.forUpdate(of: "c, la, lr"))
        else { throw DomainError.resourceMissing("card", id: id.rawValue, param: "card") }
        let card = try decodeCard(row)
        let program = try decodeCardProgram(row, prefix: "p_")
        let secret: [UInt8]? = if case .null = row["p_authorization_webhook_secret"] { nil } else { try row.bytes("p_authorization_webhook_secret") }
        return AuthorizationContext(card: card, counters: try decodeSpendCounters(row), program: program, webhookSecret: secret,
                                    timeZone: try row.string("t_time_zone"), replayOf: try row.optionalID("replay_id"))
    }

    public func updateSpendCounters(_ card: CardID, _ counters: SpendCounters) async throws {
        try await sql.execute(spendCountersUpdate(card, counters))
    }

    func spendCountersUpdate(_ card: CardID, _ counters: SpendCounters) -> SQL {
        """
        UPDATE cards SET spend_day_key = \(counters.dayKey), spend_day_minor = \(counters.dayMinor),
            spend_week_key = \(counters.weekKey), spend_week_minor = \(counters.weekMinor),
            spend_month_key = \(counters.monthKey), spend_month_minor = \(counters.monthMinor),
            spend_lifetime_minor = \(counters.lifetimeMinor)
        WHERE tenant_id = \(tenant) AND id = \(card)
        """
    }

    /// The authorization, row-locked until commit. Callers lock its card first (one lock order).
    public func lockedAuthorization(_ id: AuthorizationID) async throws -> StoredAuthorization {
        guard let found = try await authorizationForUpdate(id) else { throw DomainError.resourceMissing("authorization", id: id.rawValue) }
        return found
    }

    /// The authorization if it is this tenant's, row-locked until commit.
    public func authorizationForUpdate(_ id: AuthorizationID) async throws -> StoredAuthorization? {
        try await sql.queryOne("SELECT * FROM authorizations WHERE tenant_id = \(tenant) AND id = \(id)" + SQL.forUpdate)
            .map(decodeStoredAuthorization)
    }

    /// The authorization a network reference names, if it is this tenant's, row-locked until commit.
    public func authorizationForUpdate(networkReference: String) async throws -> StoredAuthorization? {
        try await sql.queryOne("SELECT * FROM authorizations WHERE tenant_id = \(tenant) AND network_reference = \(networkReference)" + SQL.forUpdate)
            .map(decodeStoredAuthorization)
    }

    /// Writes a new decision and, when it holds money, the card's new spend counters (one round trip
    /// on PostgreSQL).
    public func insertAuthorization(_ stored: StoredAuthorization, counters: SpendCounters?) async throws {
        let a = stored.authorization
        let insert: SQL = """
            INSERT INTO authorizations (id, tenant_id, card_id, last4, status, amount_minor, currency, merchant, channel, device_location,
                network_reference, decline_reason, response_code, policy, hold_amount_minor, hold_status, hold_journal_entry_id,
                expires_at, available_minor, review, customer_decision, adjustments, window_day, window_week, window_month, evidence,
                created_at, updated_at)
            VALUES (\(a.id), \(tenant), \(a.card), \(a.last4), \(a.status.rawValue), \(a.amountMinor), \(a.currency),
                \(a.merchant.json.serializedString), \(a.channel.rawValue), \(a.deviceLocation?.json.serializedString),
                \(a.networkReference), \(a.declineReason?.rawValue), \(a.responseCode), \(a.policy.serializedString),
                \(a.hold?.amountMinor), \(a.hold?.status.rawValue), \(a.hold?.journalEntry), \(a.hold?.expiresAt), \(a.availableMinor),
                \(a.review?.json.serializedString), \(a.customerDecision?.json.serializedString),
                \(JSONValue.array(a.adjustments.map(\.json)).serializedString), \(stored.windows.day), \(stored.windows.week),
                \(stored.windows.month), \(stored.evidence.serializedString), \(a.createdAt), \(a.updatedAt))
            """
        guard let counters else { return try await sql.execute(insert) }
        switch sql.dialect {
        case .postgres: try await sql.execute("WITH counters AS (" + spendCountersUpdate(a.card, counters) + ") " + insert)
        case .sqlite:
            try await sql.execute(spendCountersUpdate(a.card, counters))
            try await sql.execute(insert)
        }
    }

    /// Writes what changes after the decision: status, hold, review, adjustments.
    public func updateAuthorization(_ a: Authorization) async throws {
        try await sql.execute("""
            UPDATE authorizations SET status = \(a.status.rawValue), decline_reason = \(a.declineReason?.rawValue),
                hold_amount_minor = \(a.hold?.amountMinor), hold_status = \(a.hold?.status.rawValue),
                review = \(a.review?.json.serializedString), adjustments = \(JSONValue.array(a.adjustments.map(\.json)).serializedString),
                updated_at = \(a.updatedAt)
            WHERE tenant_id = \(tenant) AND id = \(a.id)
            """)
    }
}

/// An authorization with what is kept beside it: the windows its spend counts in, and the
/// decision's evidence (card snapshot, inputs, timings).
public struct StoredAuthorization: Sendable {
    public var authorization: Authorization
    public let windows: WindowKeys
    public let evidence: JSONValue

    public init(authorization: Authorization, windows: WindowKeys, evidence: JSONValue) {
        self.authorization = authorization
        self.windows = windows
        self.evidence = evidence
    }
}

extension TenantScope {
    public func authorization(_ id: AuthorizationID) async throws -> StoredAuthorization? {
        try await sql.queryOne("SELECT * FROM authorizations WHERE tenant_id = \(tenant) AND id = \(id)").map(decodeStoredAuthorization)
    }

    /// Newest first, optionally in one status (`review` is the operator queue) or of one card.
    public func authorizations(_ request: PageRequest, status: AuthorizationStatus?, card: CardID?) async throws -> Page<Authorization> {
        var filters: [SQL] = []
        if let status { filters.append("status = \(status.rawValue)") }
        if let card { filters.append("card_id = \(card)") }
        return try await page(request, table: "authorizations", columns: "*",
                              filter: filters.isEmpty ? nil : SQL.joined(filters, separator: " AND ")) { row in
            try decodeStoredAuthorization(row).authorization
        }
    }

    /// A card and its spend counters, from one read of its row (for `GET /cards/{id}`).
    public func cardWithCounters(_ id: CardID) async throws -> (Card, SpendCounters)? {
        guard let row = try await sql.queryOne("\(raw: Self.cardSelect) WHERE c.tenant_id = \(tenant) AND c.id = \(id)") else { return nil }
        return (try decodeCard(row), try decodeSpendCounters(row))
    }

    func decodeSpendCounters(_ row: SQLRow) throws -> SpendCounters {
        SpendCounters(dayKey: try row.int("spend_day_key"), dayMinor: try row.int("spend_day_minor"),
                      weekKey: try row.int("spend_week_key"), weekMinor: try row.int("spend_week_minor"),
                      monthKey: try row.int("spend_month_key"), monthMinor: try row.int("spend_month_minor"),
                      lifetimeMinor: try row.int("spend_lifetime_minor"))
    }

    func decodeStoredAuthorization(_ row: SQLRow) throws -> StoredAuthorization {
        let currency = try row.currency("currency")
        var hold: AuthorizationHold?
        if let amount = try row.optionalInt("hold_amount_minor") {
            hold = AuthorizationHold(amountMinor: amount, currency: currency, journalEntry: try row.id("hold_journal_entry_id"),
                                     status: try row.enumValue("hold_status"), expiresAt: try row.timestamp("expires_at"))
        }
        let authorization = Authorization(
            id: try row.id("id"), card: try row.id("card_id"), last4: try row.string("last4"), status: try row.enumValue("status"),
            amountMinor: try row.int("amount_minor"), currency: currency, merchant: try row.json("merchant"),
            channel: try row.enumValue("channel"),
            deviceLocation: try row.optionalString("device_location") == nil ? nil : try row.json("device_location"),
            networkReference: try row.string("network_reference"),
            declineReason: try row.optionalString("decline_reason").flatMap(DeclineReason.init(rawValue:)),
            responseCode: try row.string("response_code"), policy: try row.json("policy"), hold: hold,
            availableMinor: try row.int("available_minor"),
            review: try row.optionalString("review") == nil ? nil : try row.json("review"),
            customerDecision: try row.optionalString("customer_decision") == nil ? nil : try row.json("customer_decision"),
            adjustments: try row.json("adjustments"), createdAt: try row.timestamp("created_at"), updatedAt: try row.timestamp("updated_at"))
        return StoredAuthorization(
            authorization: authorization,
            windows: WindowKeys(day: try row.int("window_day"), week: try row.int("window_week"), month: try row.int("window_month")),
            evidence: try row.json("evidence"))
    }
}

/// Holds past their expiry, across tenants: what the expiry worker releases.
public enum HoldExpiry {
    public static func due(now: Timestamp, limit: Int, engine: any DatabaseEngine) async throws -> [(TenantID, AuthorizationID)] {
        try await engine.withReader { sql in
            try await sql.query("""
                SELECT tenant_id, id FROM authorizations WHERE hold_status = 'held' AND expires_at <= \(now)
                ORDER BY expires_at LIMIT \(limit)
                """).map { row in (try row.id("tenant_id"), try row.id("id")) }
        }
    }
}
