import Foundation

public enum CardProgramKind: IdentifierKind { public static let prefix = "prog_" }
public typealias CardProgramID = ID<CardProgramKind>

/// What the network hears while an authorization waits in review.
public enum ReviewOutcome: String, Sendable, Codable, Hashable, CaseIterable {
    case approve
    case decline
}

/// A rule that sends an authorization to the operator review queue.
public struct ReviewRule: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Codable, Hashable, CaseIterable {
        case amountOver = "amount_over"
        case mcc
        case country
    }

    public var type: String
    public var amountMinor: Int64?
    public var mccs: [String]?
    public var countries: [String]?

    public init(type: String, amountMinor: Int64? = nil, mccs: [String]? = nil, countries: [String]? = nil) {
        self.type = type
        self.amountMinor = amountMinor
        self.mccs = mccs
        self.countries = countries
    }

    /// Checks that the rule has exactly the fields its type needs, and normalizes them.
    public func validated(param: String) throws(DomainError) -> ReviewRule {
        guard let kind = Kind(rawValue: type) else {
            throw DomainError.parameterInvalid("\(param).type", "must be one of \(Kind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        switch kind {
        case .amountOver:
            guard let amountMinor else { throw DomainError.parameterMissing("\(param).amount_minor") }
            try MinorUnits.requirePositive(amountMinor, param: "\(param).amount_minor")
            return ReviewRule(type: type, amountMinor: amountMinor)
        case .mcc:
            guard let mccs, !mccs.isEmpty else { throw DomainError.parameterMissing("\(param).mccs") }
            return ReviewRule(type: type, mccs: try SpendControls.merchantCategories(mccs, "\(param).mccs"))
        case .country:
            guard let countries, !countries.isEmpty else { throw DomainError.parameterMissing("\(param).countries") }
            return ReviewRule(type: type, countries: try SpendControls.countries(countries, "\(param).countries"))
        }
    }
}

/// A program's optional real-time decisioning endpoint.
public struct AuthorizationWebhook: Sendable, Hashable, Codable {
    public var url: String
    public var timeoutMs: Int
    public var fallback: ReviewOutcome

    public static let defaultTimeoutMs = 1500
    public static let timeoutMsRange = 100...10_000

    public init(url: String, timeoutMs: Int = AuthorizationWebhook.defaultTimeoutMs, fallback: ReviewOutcome = .decline) {
        self.url = url
        self.timeoutMs = timeoutMs
        self.fallback = fallback
    }
}

/// A card program: the BIN, currency and defaults its cards are issued under.
public struct CardProgram: Sendable, Hashable, Codable {
    public let id: CardProgramID
    public let object: String
    public let name: String
    public let currency: Currency
    public let bin: String
    public let maxCardsPerCustomer: Int
    public let sensitiveDetailsEnabled: Bool
    public let spendControls: SpendControls
    public let reviewRules: [ReviewRule]
    public let reviewOutcome: ReviewOutcome
    public let holdLifetimeHours: Int
    public let authorizationWebhook: AuthorizationWebhook?
    public let createdAt: Timestamp

    public static let holdLifetimeHoursRange = 1...720
    public static let maxCardsPerCustomerRange = 1...1_000
    public static let reviewRules_max = 50

    public init(
        id: CardProgramID, name: String, currency: Currency, bin: String, maxCardsPerCustomer: Int,
        sensitiveDetailsEnabled: Bool, spendControls: SpendControls, reviewRules: [ReviewRule], reviewOutcome: ReviewOutcome,
        holdLifetimeHours: Int, authorizationWebhook: AuthorizationWebhook?, createdAt: Timestamp
    ) {
        self.id = id
        self.object = ObjectType.cardProgram.rawValue
        self.name = name
        self.currency = currency
        self.bin = bin
        self.maxCardsPerCustomer = maxCardsPerCustomer
        self.sensitiveDetailsEnabled = sensitiveDetailsEnabled
        self.spendControls = spendControls
        self.reviewRules = reviewRules
        self.reviewOutcome = reviewOutcome
        self.holdLifetimeHours = holdLifetimeHours
        self.authorizationWebhook = authorizationWebhook
        self.createdAt = createdAt
    }

    /// A BIN is 6 to 8 digits.
    public static func validateBIN(_ bin: String) throws(DomainError) -> String {
        guard (6...8).contains(bin.count), bin.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw DomainError.parameterInvalid("bin", "must be 6 to 8 digits")
        }
        return bin
    }
}
