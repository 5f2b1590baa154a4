import ZentraCore

/// Everything an authorization decision reads, row-locked on the card's state: the card and its
/// balances, the version of it policy sees, its spend counters, its program's review rules and
/// webhook, the tenant's time zone.
public struct AuthorizationContext: Sendable {
    public let card: Card
    public let cardVersion: Int64
    public let counters: SpendCounters
    public let program: CardProgram
    public let webhookSecret: [UInt8]?
    public let timeZone: String
    /// The authorization an earlier request with the same `network_reference` made, if any.
    public let replayOf: AuthorizationID?

    public var version: CardVersion { card.version(cardVersion) }
}

/// Authorizations: card requests as decided, with their holds, reviews, adjustments and evidence.
public struct AuthorizationRepository<Scope: TenantScope>: AggregateRepository {
    let base: Scope
}

extension TenantScope {
    public var authorizations: AuthorizationRepository<Self> { AuthorizationRepository(base: self) }
}

extension AuthorizationRepository where Scope == WriteTransaction {
    /// One statement: the card's state row locked, joined with the card, its program and the tenant's
    /// time zone. The state row is the card's one lock: everything that moves the card's money or
    /// changes it takes it first, so under READ COMMITTED a statement that waited for it reads the
    /// balances committed before it.
    /// - Parameter networkReference: also answers whether a request with this reference was decided
    ///   before (in the same round trip); a concurrent first decision is caught by the unique index.
    public func lockedContext(_ id: CardID, networkReference: String? = nil) async throws -> AuthorizationContext {
        let replay: SQL = networkReference.map {
            ", (SELECT a.id FROM authorizations a WHERE a.tenant_id = \(tenant) AND a.network_reference = \($0)) AS replay_id"
        } ?? ", NULL AS replay_id"
        guard let row = try await sql.queryOne(
            "SELECT \(raw: Scope.cardColumns), \(raw: CardProgramColumns.prefixed), t.time_zone AS t_time_zone" + replay
                + " FROM \(raw: Scope.cardJoins) JOIN card_programs p ON p.id = c.program_id JOIN tenants t ON t.id = c.tenant_id"
                + " WHERE s.tenant_id = \(tenant) AND s.card_id = \(id)" + SQL.forUpdate(of: "s"))
        else { throw DomainError.resourceMissing("card", id: id.rawValue, param: "card") }
        let secret: [UInt8]? = if case .null = row["p_authorization_webhook_secret"] { nil } else { try row.bytes("p_authorization_webhook_secret") }
        return AuthorizationContext(card: try base.decodeCard(row), cardVersion: try row.int("version"),
                                    counters: try base.decodeSpendCounters(row),
                                    program: try base.decodeCardProgram(row, prefix: "p_"), webhookSecret: secret,
                                    timeZone: try row.string("t_time_zone"), replayOf: try row.optionalID("replay_id"))
    }

    /// The authorization, row-locked until commit; another tenant's is missing. Callers lock its
    /// card first (one lock order).
    public func locked(_ id: AuthorizationID) async throws -> StoredAuthorization {
        guard let found = try await base.storedAuthorizations(where: "a.id = \(id)", lock: true).first else {
            throw DomainError.resourceMissing("authorization", id: id.rawValue)
        }
        return found
    }

    /// Writes what changes after the decision: status, hold, review, adjustments.
    public func update(_ a: Authorization) async throws {
        try await sql.execute("""
            UPDATE authorizations SET status = \(a.status.rawValue), decline_reason = \(a.declineReason?.rawValue),
                hold_amount_minor = \(a.hold?.amountMinor), hold_status = \(a.hold?.status.rawValue),
                review = \(a.review?.serializedString), adjustments = \(JSONValue.array(a.adjustments.map(\.json)).serializedString),
                updated_at = \(a.updatedAt)
            WHERE tenant_id = \(tenant) AND id = \(a.id)
            """)
    }
}

extension CardRepository where Scope == WriteTransaction {
    public func updateSpendCounters(_ card: CardID, _ counters: SpendCounters) async throws {
        try await sql.execute(spendCountersUpdate(card, counters))
    }

    func spendCountersUpdate(_ card: CardID, _ counters: SpendCounters) -> SQL {
        """
        UPDATE card_state SET day_key = \(counters.dayKey), day_minor = \(counters.dayMinor), week_key = \(counters.weekKey),
            week_minor = \(counters.weekMinor), month_key = \(counters.monthKey), month_minor = \(counters.monthMinor),
            lifetime_minor = \(counters.lifetimeMinor)
        WHERE tenant_id = \(tenant) AND card_id = \(card)
        """
    }
}

/// An authorization rendered from what is stored of it, with what is kept beside it: the windows its
/// spend counts in, the decision's evidence (card as it was, inputs, timings), and the decision's
/// record (nil for decisions of schema 8, whose renderings are stored as they were answered).
public struct StoredAuthorization: Sendable {
    public var authorization: Authorization
    public let windows: WindowKeys
    public let evidence: JSONValue
    public let record: DecisionRecord?

    /// The first decision decided again from its recorded inputs and compared with what is kept of it.
    public func replay() throws -> PolicyReplay {
        if let record {
            return try PolicyReplay(authorization: authorization.id, inputs: record.policyInput.json,
                                    recorded: record.recordedPolicy(try record.decide()))
        }
        guard let inputs = evidence.objectFields["policy_input"] else {
            throw DomainError(.conflict, code: "not_replayable",
                              message: "Authorization \(authorization.id) was decided before its policy inputs were recorded.")
        }
        return try PolicyReplay(authorization: authorization.id, inputs: inputs, recorded: authorization.policy.json)
    }
}

extension AuthorizationRepository {
    public func find(_ id: AuthorizationID) async throws -> StoredAuthorization? {
        try await base.storedAuthorizations(where: "a.id = \(id)").first
    }

    /// The authorization a network request with this reference made, if any.
    public func find(networkReference: String) async throws -> StoredAuthorization? {
        try await base.storedAuthorizations(where: "a.network_reference = \(networkReference)").first
    }

    /// Several authorizations by id, each rendered as `find(_:)` renders it.
    public func findAll(_ ids: Set<AuthorizationID>) async throws -> [AuthorizationID: StoredAuthorization] {
        guard !ids.isEmpty else { return [:] }
        let found = try await base.storedAuthorizations(ids: ids.sorted())
        return Dictionary(found.map { ($0.authorization.id, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// Newest first, optionally in one status (`review` is the operator queue) or of one card.
    public func list(_ request: PageRequest, status: AuthorizationStatus?, card: CardID?) async throws -> Page<Authorization> {
        var filters: [SQL] = []
        // A literal, not a bound value: the review queue's partial index serves only `status = 'review'`.
        if let status { filters.append("status = '\(raw: status.rawValue)'") }
        if let card { filters.append("card_id = \(card)") }
        let ids = try await base.page(request, table: "authorizations", columns: "id",
                                      filter: filters.isEmpty ? nil : SQL.joined(filters, separator: " AND ")) { try $0.string("id") }
        guard !ids.data.isEmpty else { return Page(data: [], hasMore: false) }
        let rendered = try await base.storedAuthorizations(ids: ids.data)
        let byID = Dictionary(rendered.map { ($0.authorization.id.rawValue, $0.authorization) }, uniquingKeysWith: { first, _ in first })
        return Page(data: ids.data.compactMap { byID[$0] }, hasMore: ids.hasMore)
    }
}

extension CardRepository {
    /// A card and its spend counters, from one read of its row (for `GET /cards/{id}`).
    public func findWithCounters(_ id: CardID) async throws -> (Card, SpendCounters)? {
        guard let row = try await sql.queryOne("\(raw: Scope.cardSelect) WHERE c.tenant_id = \(tenant) AND c.id = \(id)") else { return nil }
        return (try base.decodeCard(row), try base.decodeSpendCounters(row))
    }
}

extension TenantScope {
    /// The authorizations `filter` selects, each rendered from its record with the card version and
    /// program it names (or from its stored renderings), in one statement.
    func storedAuthorizations(where filter: SQL, lock: Bool = false) async throws -> [StoredAuthorization] {
        try await storedAuthorizations(matching: "a.tenant_id = \(tenant) AND " + filter, lock: lock)
    }

    /// The tenant's authorizations among `ids`, rendered as `storedAuthorizations(where:)` renders them.
    func storedAuthorizations(ids: [some SQLBindable]) async throws -> [StoredAuthorization] {
        try await storedAuthorizations(matching: SQL.rows(ids, ofTenant: tenant, alias: "a"), lock: false)
    }

    private func storedAuthorizations(matching condition: SQL, lock: Bool) async throws -> [StoredAuthorization] {
        let rows = try await sql.query("""
            SELECT a.*, v.status AS v_status, v.spend_controls AS v_spend_controls, v.geofence_enabled AS v_geofence_enabled,
                   v.geofence_radius_km AS v_geofence_radius_km, c.last4 AS c_last4, c.type AS c_type, c.exp_month AS c_exp_month,
                   c.exp_year AS c_exp_year, c.currency AS c_currency, \(raw: CardProgramColumns.prefixed),
                   r.policy AS r_policy, r.evidence AS r_evidence, r.available_minor AS r_available_minor
            FROM authorizations a JOIN cards c ON c.id = a.card_id JOIN card_programs p ON p.id = c.program_id
                 LEFT JOIN card_versions v ON v.card_id = a.card_id AND v.version = a.card_version
                 LEFT JOIN authorization_renderings r ON r.id = a.id
            WHERE
            """ + " " + condition + (lock ? SQL.forUpdate(of: "a") : ""))
        return try rows.map(decodeStoredAuthorization)
    }

    func decodeSpendCounters(_ row: SQLRow) throws -> SpendCounters {
        SpendCounters(dayKey: try row.int("day_key"), dayMinor: try row.int("day_minor"), weekKey: try row.int("week_key"),
                      weekMinor: try row.int("week_minor"), monthKey: try row.int("month_key"), monthMinor: try row.int("month_minor"),
                      lifetimeMinor: try row.int("lifetime_minor"))
    }

    func decodeStoredAuthorization(_ row: SQLRow) throws -> StoredAuthorization {
        let id: AuthorizationID = try row.id("id")
        let currency = try row.currency("currency")
        let windows = WindowKeys(day: try row.int("window_day"), week: try row.int("window_week"), month: try row.int("window_month"))
        var hold: AuthorizationHold?
        if let amount = try row.optionalInt("hold_amount_minor") {
            hold = AuthorizationHold(amountMinor: amount, currency: currency, journalEntry: try row.id("hold_journal_entry_id"),
                                     status: try row.enumValue("hold_status"), expiresAt: try row.timestamp("expires_at"))
        }
        let review: AuthorizationReview? = try row.optionalString("review") == nil ? nil : try row.json("review")
        let adjustments: [AuthorizationAdjustment] = try row.optionalString("adjustments") == nil ? [] : try row.json("adjustments")
        let customerDecision: CustomerDecision? = try row.optionalString("customer_decision") == nil ? nil : try row.json("customer_decision")
        let merchant: Merchant = try row.json("merchant")
        let deviceLocation: GeoPoint? = try row.optionalString("device_location") == nil ? nil : try row.json("device_location")

        guard try row.int("render_version") != 0 else {
            var authorization = Authorization(
                id: id, card: try row.id("card_id"), last4: try row.string("c_last4"), status: try row.enumValue("status"),
                amountMinor: try row.int("amount_minor"), currency: currency, merchant: merchant, channel: try row.enumValue("channel"),
                deviceLocation: deviceLocation, networkReference: try row.string("network_reference"),
                declineReason: try row.optionalString("decline_reason").flatMap(DeclineReason.init(rawValue:)),
                responseCode: try row.string("response_code"), policy: .stored(try row.json("r_policy")), hold: hold,
                availableMinor: try row.int("r_available_minor"), review: review, customerDecision: customerDecision,
                adjustments: adjustments, createdAt: try row.timestamp("created_at"), updatedAt: try row.timestamp("updated_at"))
            authorization.takeAvailabilityFromAdjustments()
            return StoredAuthorization(authorization: authorization, windows: windows, evidence: try row.json("r_evidence"), record: nil)
        }

        let card = CardVersion(
            card: try row.id("card_id"), version: try row.int("card_version"), status: try row.enumValue("v_status"),
            spendControls: try row.configuration("v_spend_controls"), geofenceEnabled: try row.bool("v_geofence_enabled"),
            geofenceRadiusKm: Int(try row.int("v_geofence_radius_km")), last4: try row.string("c_last4"), type: try row.enumValue("c_type"),
            program: try row.id("p_id"), currency: try row.currency("c_currency"), expMonth: Int(try row.int("c_exp_month")),
            expYear: Int(try row.int("c_exp_year")))
        guard let outcomes = RuleOutcomes(stored: try row.string("rule_outcomes")) else {
            throw StoreError.decoding("authorization \(id) has unknown rule outcomes")
        }
        let record = DecisionRecord(
            id: id, card: card, program: try decodeCardProgram(row, prefix: "p_"), amount: Money(minor: try row.int("amount_minor"), currency: currency),
            merchant: merchant, channel: try row.enumValue("channel"), deviceLocation: deviceLocation,
            networkReference: try row.string("network_reference"), receivedAt: try row.timestamp("received_at"),
            decidedAt: try row.timestamp("created_at"), timeZone: try row.string("time_zone"), windows: windows,
            spendBefore: SpendUsage(dailyMinor: try row.int("spend_day_before_minor"), weeklyMinor: try row.int("spend_week_before_minor"),
                                    monthlyMinor: try row.int("spend_month_before_minor"),
                                    lifetimeMinor: try row.int("spend_lifetime_before_minor")),
            availableBeforeMinor: try row.int("available_before_minor"), customerDecision: customerDecision, outcomes: outcomes,
            holdJournalEntry: try row.optionalID("hold_journal_entry_id"), expiresAt: try row.optionalTimestamp("expires_at"),
            network: try row.optionalString("network_message") == nil ? nil : try row.json("network_message"),
            policyVersion: try row.int("policy_version"), renderVersion: try row.int("render_version"))
        // The first answer, then what happened since: status, hold, review and adjustments as they are now.
        var authorization = record.answer(try record.decide())
        authorization.status = try row.enumValue("status")
        authorization.declineReason = try row.optionalString("decline_reason").flatMap(DeclineReason.init(rawValue:))
        authorization.hold = hold
        authorization.review = review
        authorization.adjustments = adjustments
        authorization.takeAvailabilityFromAdjustments()
        authorization.updatedAt = try row.timestamp("updated_at")
        return StoredAuthorization(authorization: authorization, windows: windows, evidence: record.evidence, record: record)
    }
}

/// Holds past their expiry, across tenants: what the expiry worker releases.
public enum HoldExpiry {
    public static func due(now: Timestamp, limit: Int, engine: any DatabaseEngine) async throws -> [(TenantID, AuthorizationID)] {
        try await engine.withReader { sql in
            try await sql.query("""
                SELECT tenant_id, id FROM authorizations WHERE hold_status = '\(raw: AuthorizationHold.HoldStatus.held.rawValue)' AND expires_at <= \(now)
                ORDER BY expires_at LIMIT \(limit)
                """).map { row in (try row.id("tenant_id"), try row.id("id")) }
        }
    }
}
