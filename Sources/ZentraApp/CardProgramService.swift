import ZentraCore
import ZentraStorage

public struct CreateCardProgram: Sendable, Decodable {
    public var name: String
    public var currency: String
    public var bin: String
    public var maxCardsPerCustomer: Int?
    public var sensitiveDetailsEnabled: Bool?
    public var spendControls: SpendControls?
    public var reviewRules: [ReviewRule]?
    public var reviewOutcome: String?
    public var holdLifetimeHours: Int?
    public var authorizationWebhook: WebhookInput?

    public struct WebhookInput: Sendable, Decodable {
        public var url: String
        public var timeoutMs: Int?
        public var fallback: String?
    }
}

/// Card programs: the BIN, currency and defaults cards are issued under. Validated strictly here,
/// enforced by issuance and the authorization engine.
public enum CardProgramService {
    public static let defaultMaxCardsPerCustomer = 5
    public static let defaultHoldLifetimeHours = 168

    /// Associated data of sealed webhook signing secrets.
    public static let webhookSecretPurpose = "authorization_webhook_secret"

    /// A new program and, when it has a decisioning webhook, the secret that signs calls to it:
    /// shown in this answer only, stored sealed.
    public static func create(_ input: CreateCardProgram, urlPolicy: OutboundURLPolicy, vault: CardVault, in tx: WriteTransaction) async throws
        -> (program: CardProgram, webhookSecret: String?)
    {
        let name = try Validate.text(input.name, "name")
        let currency = try Validate.currency(input.currency)
        let bin = try CardProgram.validateBIN(input.bin)
        let maxCards = input.maxCardsPerCustomer ?? defaultMaxCardsPerCustomer
        guard CardProgram.maxCardsPerCustomerRange.contains(maxCards) else {
            throw DomainError.parameterInvalid("max_cards_per_customer", "must be from \(CardProgram.maxCardsPerCustomerRange.lowerBound) to \(CardProgram.maxCardsPerCustomerRange.upperBound)")
        }
        let holdHours = input.holdLifetimeHours ?? defaultHoldLifetimeHours
        guard CardProgram.holdLifetimeHoursRange.contains(holdHours) else {
            throw DomainError.parameterInvalid("hold_lifetime_hours", "must be from \(CardProgram.holdLifetimeHoursRange.lowerBound) to \(CardProgram.holdLifetimeHoursRange.upperBound)")
        }
        let controls = try (input.spendControls ?? SpendControls()).validated(param: "spend_controls")
        let rules = input.reviewRules ?? []
        guard rules.count <= CardProgram.reviewRules_max else {
            throw DomainError.parameterInvalid("review_rules", "at most \(CardProgram.reviewRules_max) rules")
        }
        let validatedRules = try rules.enumerated().map { index, rule in try rule.validated(param: "review_rules[\(index)]") }
        let outcome = try input.reviewOutcome.map { try Validate.enumValue($0, "review_outcome", as: ReviewOutcome.self) } ?? .decline
        let webhook = try input.authorizationWebhook.map { hook -> AuthorizationWebhook in
            let url = try urlPolicy.validate(hook.url, param: "authorization_webhook.url")
            let timeout = hook.timeoutMs ?? AuthorizationWebhook.defaultTimeoutMs
            guard AuthorizationWebhook.timeoutMsRange.contains(timeout) else {
                throw DomainError.parameterInvalid("authorization_webhook.timeout_ms", "must be from \(AuthorizationWebhook.timeoutMsRange.lowerBound) to \(AuthorizationWebhook.timeoutMsRange.upperBound)")
            }
            let fallback = try hook.fallback.map { try Validate.enumValue($0, "authorization_webhook.fallback", as: ReviewOutcome.self) } ?? .decline
            return AuthorizationWebhook(url: url, timeoutMs: timeout, fallback: fallback)
        }

        let program = CardProgram(
            id: tx.newID(), name: name, currency: currency, bin: bin, maxCardsPerCustomer: maxCards,
            sensitiveDetailsEnabled: input.sensitiveDetailsEnabled ?? false, spendControls: controls, reviewRules: validatedRules,
            reviewOutcome: outcome, holdLifetimeHours: holdHours, authorizationWebhook: webhook, createdAt: tx.now)
        let secret = webhook.map { _ in WebhookSignature.newSecret() }
        try await tx.cardPrograms.insert(program, sealedWebhookSecret: try secret.map {
            try vault.seal(secret: $0, tenant: tx.tenant, purpose: webhookSecretPurpose)
        })
        try tx.emit(.cardProgramCreated, objectType: .cardProgram, objectID: program.id.rawValue, data: program)
        tx.audit(.event(.cardProgramCreated), objectType: .cardProgram, objectID: program.id.rawValue, context: .object([
            "bin": .string(bin), "currency": .string(currency.code), "max_cards_per_customer": .int(Int64(maxCards)),
            "sensitive_details_enabled": .bool(program.sensitiveDetailsEnabled),
        ]))
        return (program, secret)
    }
}
