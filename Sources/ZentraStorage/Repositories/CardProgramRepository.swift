import ZentraCore

/// Card programs: the BIN, currency, caps, spend controls and review rules a card is issued under.
public struct CardProgramRepository<Scope: TenantScope>: AggregateRepository {
    let base: Scope
}

extension TenantScope {
    public var cardPrograms: CardProgramRepository<Self> { CardProgramRepository(base: self) }
}

extension CardProgramRepository {
    public func find(_ id: CardProgramID) async throws -> CardProgram? {
        try await sql.queryOne("SELECT * FROM card_programs WHERE tenant_id = \(tenant) AND id = \(id)").map(base.decodeCardProgram)
    }

    public func list(_ request: PageRequest) async throws -> Page<CardProgram> {
        try await base.page(request, table: "card_programs", columns: "*", decode: base.decodeCardProgram)
    }
}

extension TenantScope {
    func decodeCardProgram(_ row: SQLRow) throws -> CardProgram { try decodeCardProgram(row, prefix: "") }

    /// `prefix` names the program's columns when they are read beside another table's (`p_`).
    func decodeCardProgram(_ row: SQLRow, prefix: String) throws -> CardProgram {
        CardProgram(
            id: try row.id(prefix + "id"), name: try row.string(prefix + "name"), currency: try row.currency(prefix + "currency"),
            bin: try row.string(prefix + "bin"), maxCardsPerCustomer: Int(try row.int(prefix + "max_cards_per_customer")),
            sensitiveDetailsEnabled: try row.bool(prefix + "sensitive_details_enabled"),
            spendControls: try row.configuration(prefix + "spend_controls"), reviewRules: try row.configuration(prefix + "review_rules"),
            reviewOutcome: try row.enumValue(prefix + "review_outcome"), holdLifetimeHours: Int(try row.int(prefix + "hold_lifetime_hours")),
            authorizationWebhook: try row.optionalConfiguration(prefix + "authorization_webhook"),
            createdAt: try row.timestamp(prefix + "created_at"))
    }
}

/// The program's columns read beside another table's (`p` is the program), prefixed `p_`.
enum CardProgramColumns {
    static let prefixed = ["id", "name", "currency", "bin", "max_cards_per_customer", "sensitive_details_enabled",
                           "spend_controls", "review_rules", "review_outcome", "hold_lifetime_hours", "authorization_webhook",
                           "authorization_webhook_secret", "created_at"].map { "p.\($0) AS p_\($0)" }.joined(separator: ", ")
}

extension CardProgramRepository where Scope == WriteTransaction {
    public func insert(_ program: CardProgram, sealedWebhookSecret: [UInt8]?) async throws {
        try await sql.execute("""
            INSERT INTO card_programs (id, tenant_id, name, currency, bin, max_cards_per_customer, sensitive_details_enabled,
                                       spend_controls, review_rules, review_outcome, hold_lifetime_hours, authorization_webhook,
                                       authorization_webhook_secret, created_at)
            VALUES (\(program.id), \(tenant), \(program.name), \(program.currency), \(program.bin), \(program.maxCardsPerCustomer),
                    \(program.sensitiveDetailsEnabled), \(try ZentraJSON.encodeString(program.spendControls)),
                    \(try ZentraJSON.encodeString(program.reviewRules)), \(program.reviewOutcome.rawValue),
                    \(program.holdLifetimeHours), \(try program.authorizationWebhook.map(ZentraJSON.encodeString)),
                    \(sealedWebhookSecret), \(program.createdAt))
            """)
    }
}
