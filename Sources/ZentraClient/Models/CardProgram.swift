import Foundation

/// The defaults and rules a family of cards shares: currency, BIN, spend controls, review rules.
public struct CardProgram: Identified, Codable, Hashable {
    public let id: String
    public let name: String
    public let currency: String
    public let bin: String
    public let maxCardsPerCustomer: Int
    public let sensitiveDetailsEnabled: Bool
    public let spendControls: SpendControls?
    public let reviewRules: [ReviewRule]?
    /// What the network hears while a review is open.
    public let reviewOutcome: ReviewOutcome?
    public let holdLifetimeHours: Int?
    public let authorizationWebhook: AuthorizationWebhook?
    /// The decisioning webhook's signing secret: in the creation answer only.
    public let authorizationWebhookSecret: String?
    public let createdAt: Date?

    enum CodingKeys: String, CodingKey {
        case id, name, currency, bin
        case maxCardsPerCustomer = "max_cards_per_customer"
        case sensitiveDetailsEnabled = "sensitive_details_enabled"
        case spendControls = "spend_controls"
        case reviewRules = "review_rules"
        case reviewOutcome = "review_outcome"
        case holdLifetimeHours = "hold_lifetime_hours"
        case authorizationWebhook = "authorization_webhook"
        case authorizationWebhookSecret = "authorization_webhook_secret"
        case createdAt = "created_at"
    }
}

public enum ReviewOutcome: OpenEnum {
    case approve, decline
    case unknown(String)
    public static let known: [ReviewOutcome] = [.approve, .decline]
}

/// A rule that sends an authorization to the operator review queue.
public struct ReviewRule: Codable, Hashable, Sendable {
    public var type: Kind
    /// For `amountOver`.
    public var amountMinor: Int64?
    /// For `mcc`.
    public var mccs: [String]?
    /// For `country`.
    public var countries: [String]?

    public enum Kind: OpenEnum {
        case amountOver, mcc, country
        case unknown(String)
        public static let known: [Kind] = [.amountOver, .mcc, .country]
    }

    public static func amountOver(_ amountMinor: Int64) -> ReviewRule { ReviewRule(type: .amountOver, amountMinor: amountMinor) }
    public static func mcc(_ mccs: [String]) -> ReviewRule { ReviewRule(type: .mcc, mccs: mccs) }
    public static func country(_ countries: [String]) -> ReviewRule { ReviewRule(type: .country, countries: countries) }

    public init(type: Kind, amountMinor: Int64? = nil, mccs: [String]? = nil, countries: [String]? = nil) {
        self.type = type
        self.amountMinor = amountMinor
        self.mccs = mccs
        self.countries = countries
    }

    enum CodingKeys: String, CodingKey {
        case type, mccs, countries
        case amountMinor = "amount_minor"
    }
}

/// A program's real-time decisioning endpoint.
public struct AuthorizationWebhook: Codable, Hashable, Sendable {
    public var url: String
    public var timeoutMs: Int?
    /// The decision when the endpoint does not answer in time.
    public var fallback: ReviewOutcome?

    public init(url: String, timeoutMs: Int? = nil, fallback: ReviewOutcome? = nil) {
        self.url = url
        self.timeoutMs = timeoutMs
        self.fallback = fallback
    }

    enum CodingKeys: String, CodingKey {
        case url, fallback
        case timeoutMs = "timeout_ms"
    }
}

/// Limits per window and what a card may be used for; every member is optional.
public struct SpendControls: Codable, Hashable, Sendable {
    public var perTransactionMinor: Int64?
    public var dailyMinor: Int64?
    public var weeklyMinor: Int64?
    public var monthlyMinor: Int64?
    public var lifetimeMinor: Int64?
    /// 4-digit merchant category codes or named groups (`gambling`, `cash`, ...).
    public var allowedMccs: [String]?
    public var blockedMccs: [String]?
    public var allowedChannels: [Channel]?
    public var blockedChannels: [Channel]?
    /// ISO 3166-1 alpha-2.
    public var allowedCountries: [String]?

    public init(perTransactionMinor: Int64? = nil, dailyMinor: Int64? = nil, weeklyMinor: Int64? = nil,
                monthlyMinor: Int64? = nil, lifetimeMinor: Int64? = nil, allowedMccs: [String]? = nil,
                blockedMccs: [String]? = nil, allowedChannels: [Channel]? = nil, blockedChannels: [Channel]? = nil,
                allowedCountries: [String]? = nil) {
        self.perTransactionMinor = perTransactionMinor
        self.dailyMinor = dailyMinor
        self.weeklyMinor = weeklyMinor
        self.monthlyMinor = monthlyMinor
        self.lifetimeMinor = lifetimeMinor
        self.allowedMccs = allowedMccs
        self.blockedMccs = blockedMccs
        self.allowedChannels = allowedChannels
        self.blockedChannels = blockedChannels
        self.allowedCountries = allowedCountries
    }

    enum CodingKeys: String, CodingKey {
        case perTransactionMinor = "per_transaction_minor"
        case dailyMinor = "daily_minor"
        case weeklyMinor = "weekly_minor"
        case monthlyMinor = "monthly_minor"
        case lifetimeMinor = "lifetime_minor"
        case allowedMccs = "allowed_mccs"
        case blockedMccs = "blocked_mccs"
        case allowedChannels = "allowed_channels"
        case blockedChannels = "blocked_channels"
        case allowedCountries = "allowed_countries"
    }
}

/// How a card was presented.
public enum Channel: OpenEnum {
    case online, inStore, contactless, atm, moto
    case unknown(String)
    public static let known: [Channel] = [.online, .inStore, .contactless, .atm, .moto]
}
