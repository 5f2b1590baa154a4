import ZentraCore

extension TenantScope {
    /// A card's columns with its state (`s`): the version of it policy sees, its two balances and
    /// its spend counters, one narrow row beside the card's.
    static var cardColumns: String {
        """
        c.*, s.version, s.available_debits, s.available_credits, s.reserved_debits, s.reserved_credits, s.day_key, s.day_minor,
        s.week_key, s.week_minor, s.month_key, s.month_minor, s.lifetime_minor
        """
    }
    static var cardJoins: String { "cards c JOIN card_state s ON s.card_id = c.id" }

    /// Card columns with its spendable and held balances, read in one statement.
    static var cardSelect: String { "SELECT \(cardColumns) FROM \(cardJoins)" }

    func decodeCard(_ row: SQLRow) throws -> Card {
        Card(
            id: try row.id("id"), status: try row.enumValue("status"), type: try row.enumValue("type"), last4: try row.string("last4"),
            expMonth: Int(try row.int("exp_month")), expYear: Int(try row.int("exp_year")), customer: try row.id("customer_id"),
            account: try row.id("account_id"), program: try row.id("program_id"), currency: try row.currency("currency"),
            availableMinor: try LedgerAccountPurpose.cardAvailable.normalBalance.balance(
                debits: try row.int("available_debits"), credits: try row.int("available_credits")),
            ledgerAccount: try row.id("available_ledger_account_id"),
            heldMinor: try LedgerAccountPurpose.cardReserved.normalBalance.balance(
                debits: try row.int("reserved_debits"), credits: try row.int("reserved_credits")),
            reservedLedgerAccount: try row.id("reserved_ledger_account_id"),
            spendControls: try row.configuration("spend_controls"), geofenceEnabled: try row.bool("geofence_enabled"),
            geofenceRadiusKm: Int(try row.int("geofence_radius_km")),
            shipping: try row.optionalString("shipping") == nil ? nil : try row.json("shipping"),
            fulfillmentStatus: try row.optionalString("fulfillment_status") == nil ? nil : try row.enumValue("fulfillment_status"),
            createdAt: try row.timestamp("created_at"),
            updatedAt: try row.timestamp("updated_at"))
    }
}

/// Cards: the card rows, their state rows (balances, spend counters, version), their versions and fundings.
public struct CardRepository<Scope: TenantScope>: AggregateRepository {
    let base: Scope
}

extension TenantScope {
    public var cards: CardRepository<Self> { CardRepository(base: self) }
}

/// A card found by its PAN's keyed hash, across tenants: a card network names the card by its
/// number alone, and the hash is unique over every tenant.
public enum PANIndex {
    public struct Entry: Sendable {
        public let tenant: TenantID
        public let card: CardID
        public let expMonth: Int
        public let expYear: Int
    }

    public static func card(panHash: String, engine: any DatabaseEngine) async throws -> Entry? {
        try await engine.withReader { sql in
            // Prepared: every ISO 8583 message looks its card up, and PostgreSQL parsed it each time.
            try await sql.queryOne(("SELECT tenant_id, id, exp_month, exp_year FROM cards WHERE pan_hash = \(panHash)" as SQL).prepared()).map { row in
                Entry(tenant: try row.id("tenant_id"), card: try row.id("id"), expMonth: Int(try row.int("exp_month")),
                      expYear: Int(try row.int("exp_year")))
            }
        }
    }
}

extension CardRepository {
    public func find(_ id: CardID) async throws -> Card? {
        try await sql.queryOne("\(raw: Scope.cardSelect) WHERE c.tenant_id = \(tenant) AND c.id = \(id)").map(base.decodeCard)
    }

    /// Cards newest first, optionally of one customer and in one status.
    public func list(_ request: PageRequest, customer: CustomerID?, status: CardStatus?) async throws -> Page<Card> {
        var filters: [SQL] = []
        if let customer { filters.append("customer_id = \(customer)") }
        if let status { filters.append("status = \(status.rawValue)") }
        return try await base.page(request, table: "cards", filter: filters.isEmpty ? nil : SQL.joined(filters, separator: " AND "),
                                   select: Scope.cardSelect, alias: "c", decode: base.decodeCard)
    }

    /// Cards of a customer under a program that count against its cap (every status but closed).
    public func openCount(customer: CustomerID, program: CardProgramID) async throws -> Int64 {
        try await sql.queryOne("""
            SELECT COUNT(*) AS n FROM cards
            WHERE tenant_id = \(tenant) AND customer_id = \(customer) AND program_id = \(program) AND status <> '\(raw: CardStatus.closed.rawValue)'
            """)!.int("n")
    }

    /// The sealed PAN and CVV of a card; only the vault can open them.
    public func sealedData(_ id: CardID) async throws -> [UInt8]? {
        try await sql.queryOne("SELECT sealed_data FROM cards WHERE tenant_id = \(tenant) AND id = \(id)")?.bytes("sealed_data")
    }

    public func funding(reference: String) async throws -> CardFunding? {
        try await sql.queryOne("SELECT * FROM card_fundings WHERE tenant_id = \(tenant) AND transaction_reference = \(reference)").map { row in
            CardFunding(id: try row.id("id"), card: try row.id("card_id"), account: try row.id("account_id"),
                        amountMinor: try row.int("amount_minor"), currency: try row.currency("currency"),
                        transactionReference: try row.string("transaction_reference"), journalEntry: try row.id("journal_entry_id"),
                        intent: try row.id("intent_id"), createdAt: try row.timestamp("created_at"))
        }
    }
}

extension CardRepository where Scope == WriteTransaction {
    /// A new card, its state row (no money, nothing spent) and its first version.
    public func insert(_ card: Card, panHash: String, sealedData: [UInt8]) async throws {
        try await sql.execute("""
            INSERT INTO cards (id, tenant_id, customer_id, account_id, program_id, currency, type, status, last4, exp_month, exp_year,
                               pan_hash, sealed_data, spend_controls, geofence_enabled, geofence_radius_km, shipping,
                               fulfillment_status, available_ledger_account_id, reserved_ledger_account_id, created_at, updated_at)
            VALUES (\(card.id), \(tenant), \(card.customer), \(card.account), \(card.program), \(card.currency), \(card.type.rawValue),
                    \(card.status.rawValue), \(card.last4), \(card.expMonth), \(card.expYear), \(panHash), \(sealedData),
                    \(try ZentraJSON.encodeString(card.spendControls)), \(card.geofenceEnabled), \(card.geofenceRadiusKm),
                    \(try card.shipping.map(ZentraJSON.encodeString)), \(card.fulfillmentStatus?.rawValue), \(card.ledgerAccount), \(card.reservedLedgerAccount),
                    \(card.createdAt), \(card.updatedAt))
            """)
        try await sql.execute("""
            INSERT INTO card_state (card_id, tenant_id, version, available_debits, available_credits, reserved_debits, reserved_credits,
                                    day_key, day_minor, week_key, week_minor, month_key, month_minor, lifetime_minor)
            VALUES (\(card.id), \(tenant), 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
            """)
        try await insertCardVersion(card, version: 1)
    }

    func insertCardVersion(_ card: Card, version: Int64) async throws {
        try await sql.execute("""
            INSERT INTO card_versions (card_id, version, tenant_id, status, spend_controls, geofence_enabled, geofence_radius_km, created_at)
            VALUES (\(card.id), \(version), \(tenant), \(card.status.rawValue), \(try ZentraJSON.encodeString(card.spendControls)),
                    \(card.geofenceEnabled), \(card.geofenceRadiusKm), \(card.updatedAt))
            """)
    }

    /// The card, its state row locked until commit; a card of another tenant is missing.
    public func locked(_ id: CardID) async throws -> Card {
        guard let row = try await sql.queryOne("\(raw: Scope.cardSelect) WHERE s.tenant_id = \(tenant) AND s.card_id = \(id)" + SQL.forUpdate(of: "s")) else {
            throw DomainError.resourceMissing("card", id: id.rawValue)
        }
        return try base.decodeCard(row)
    }

    /// Writes what may change on a card (status, controls, geofence) as its next version. The caller
    /// holds the card's state row (`locked`), so versions are numbered without gaps or races.
    public func update(_ card: Card) async throws {
        try await sql.execute("""
            UPDATE cards SET status = \(card.status.rawValue), spend_controls = \(try ZentraJSON.encodeString(card.spendControls)),
                geofence_enabled = \(card.geofenceEnabled), geofence_radius_km = \(card.geofenceRadiusKm), updated_at = \(card.updatedAt)
            WHERE tenant_id = \(tenant) AND id = \(card.id)
            """)
        guard let row = try await sql.queryOne(
            "UPDATE card_state SET version = version + 1 WHERE tenant_id = \(tenant) AND card_id = \(card.id) RETURNING version")
        else { throw DomainError.resourceMissing("card", id: card.id.rawValue) }
        try await insertCardVersion(card, version: try row.int("version"))
    }

    public func insertFunding(_ funding: CardFunding) async throws {
        try await sql.execute("""
            INSERT INTO card_fundings (id, tenant_id, card_id, account_id, amount_minor, currency, transaction_reference,
                                       journal_entry_id, intent_id, created_at)
            VALUES (\(funding.id), \(tenant), \(funding.card), \(funding.account), \(funding.amountMinor), \(funding.currency),
                    \(funding.transactionReference), \(funding.journalEntry), \(funding.intent), \(funding.createdAt))
            """)
    }
}

extension LedgerRepository where Scope == WriteTransaction {
    /// The ledger accounts of a new card: its spendable balance and what its authorizations hold.
    public func insertCardAccounts(card: CardID, account: AccountID, currency: Currency) async throws
        -> (available: LedgerAccountID, reserved: LedgerAccountID)
    {
        (try await insertLedgerAccount(name: "\(card.rawValue) available", purpose: .cardAvailable, currency: currency, account: account,
                                       owner: card.rawValue),
         try await insertLedgerAccount(name: "\(card.rawValue) reserved", purpose: .cardReserved, currency: currency, account: account,
                                       owner: card.rawValue))
    }
}
