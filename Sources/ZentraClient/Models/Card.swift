import Foundation

/// A virtual or physical card. Never carries the PAN or CVV (`Cards.sensitiveDetails`).
public struct Card: Identified, Codable, Hashable {
    public let id: String
    public let status: Status
    public let type: CardType
    public let last4: String
    public let expMonth: Int
    public let expYear: Int
    public let customer: String
    public let account: String
    public let program: String
    public let currency: String
    /// The card's spendable balance.
    public let availableMinor: Int64?
    /// Card money held by open authorizations.
    public let heldMinor: Int64?
    public let ledgerAccount: String?
    public let reservedLedgerAccount: String?
    /// Spend per window with limits and what remains: `Cards.get` only.
    public let spend: Spend?
    public let spendControls: SpendControls?
    public let geofenceEnabled: Bool?
    public let geofenceRadiusKm: Int?
    public let shipping: ShippingAddress?
    public let fulfillmentStatus: String?
    public let createdAt: Date?
    public let updatedAt: Date?

    public enum Status: OpenEnum {
        case active, locked, closed
        case unknown(String)
        public static let known: [Status] = [.active, .locked, .closed]
    }

    /// Spend per window in the tenant's time zone.
    public struct Spend: Codable, Hashable, Sendable {
        public let timeZone: String?
        public let perTransactionLimitMinor: Int64?
        public let daily: SpendWindow?
        public let weekly: SpendWindow?
        public let monthly: SpendWindow?
        public let lifetime: SpendWindow?

        enum CodingKeys: String, CodingKey {
            case daily, weekly, monthly, lifetime
            case timeZone = "time_zone"
            case perTransactionLimitMinor = "per_transaction_limit_minor"
        }
    }

    enum CodingKeys: String, CodingKey {
        case id, status, type, last4, customer, account, program, currency, spend, shipping
        case expMonth = "exp_month"
        case expYear = "exp_year"
        case availableMinor = "available_minor"
        case heldMinor = "held_minor"
        case ledgerAccount = "ledger_account"
        case reservedLedgerAccount = "reserved_ledger_account"
        case spendControls = "spend_controls"
        case geofenceEnabled = "geofence_enabled"
        case geofenceRadiusKm = "geofence_radius_km"
        case fulfillmentStatus = "fulfillment_status"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

public enum CardType: OpenEnum {
    case virtual, physical
    case unknown(String)
    public static let known: [CardType] = [.virtual, .physical]
}

/// What a window allows, has used and has left.
public struct SpendWindow: Codable, Hashable, Sendable {
    public let usedMinor: Int64?
    public let limitMinor: Int64?
    public let remainingMinor: Int64?

    enum CodingKeys: String, CodingKey {
        case usedMinor = "used_minor"
        case limitMinor = "limit_minor"
        case remainingMinor = "remaining_minor"
    }
}

/// Where a physical card is sent.
public struct ShippingAddress: Codable, Hashable, Sendable {
    public var name: String
    public var line1: String
    public var line2: String?
    public var city: String
    public var state: String?
    public var postalCode: String
    /// ISO 3166-1 alpha-2.
    public var country: String

    public init(name: String, line1: String, line2: String? = nil, city: String, state: String? = nil,
                postalCode: String, country: String) {
        self.name = name
        self.line1 = line1
        self.line2 = line2
        self.city = city
        self.state = state
        self.postalCode = postalCode
        self.country = country
    }

    enum CodingKeys: String, CodingKey {
        case name, line1, line2, city, state, country
        case postalCode = "postal_code"
    }
}

/// Money moved from the customer's wallet to a card.
public struct CardFunding: Identified, Codable, Hashable {
    public let id: String
    public let card: String
    public let account: String
    public let amountMinor: Int64
    public let currency: String
    public let source: String
    public let transactionReference: String?
    public let journalEntry: String?
    public let intent: String?
    public let createdAt: Date?
    /// Present when the request used a deprecated field.
    public let warnings: [String]?

    enum CodingKeys: String, CodingKey {
        case id, card, account, currency, source, intent, warnings
        case amountMinor = "amount_minor"
        case transactionReference = "transaction_reference"
        case journalEntry = "journal_entry"
        case createdAt = "created_at"
    }
}

/// PAN, CVV and expiry: admin keys only, for programs with `sensitiveDetailsEnabled`. Keep it in
/// memory only as long as you need it, and never log it.
public struct CardSensitiveDetails: Identified, Codable, Hashable {
    public let id: String
    public let pan: String
    public let cvv: String
    public let expMonth: Int
    public let expYear: Int

    enum CodingKeys: String, CodingKey {
        case id, pan, cvv
        case expMonth = "exp_month"
        case expYear = "exp_year"
    }
}

/// The security settings `Cards.updateSecurity` replaces; a member left nil is kept as it is.
public struct CardSecurity: Codable, Hashable, Sendable {
    public var spendControls: SpendControls?
    public var allowedChannels: [Channel]?
    public var blockedChannels: [Channel]?
    public var allowedMccs: [String]?
    public var blockedMccs: [String]?
    public var allowedCountries: [String]?
    public var geofenceEnabled: Bool?
    public var geofenceRadiusKm: Int?

    public init(spendControls: SpendControls? = nil, allowedChannels: [Channel]? = nil, blockedChannels: [Channel]? = nil,
                allowedMccs: [String]? = nil, blockedMccs: [String]? = nil, allowedCountries: [String]? = nil,
                geofenceEnabled: Bool? = nil, geofenceRadiusKm: Int? = nil) {
        self.spendControls = spendControls
        self.allowedChannels = allowedChannels
        self.blockedChannels = blockedChannels
        self.allowedMccs = allowedMccs
        self.blockedMccs = blockedMccs
        self.allowedCountries = allowedCountries
        self.geofenceEnabled = geofenceEnabled
        self.geofenceRadiusKm = geofenceRadiusKm
    }

    enum CodingKeys: String, CodingKey {
        case spendControls = "spend_controls"
        case allowedChannels = "allowed_channels"
        case blockedChannels = "blocked_channels"
        case allowedMccs = "allowed_mccs"
        case blockedMccs = "blocked_mccs"
        case allowedCountries = "allowed_countries"
        case geofenceEnabled = "geofence_enabled"
        case geofenceRadiusKm = "geofence_radius_km"
    }
}
