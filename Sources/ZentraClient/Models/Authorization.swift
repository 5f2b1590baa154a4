import Foundation

/// A network's request to spend on a card, and the decision with its rule trace and hold.
public struct Authorization: Identified, Codable, Hashable {
    public let id: String
    public let card: String
    public let last4: String?
    public let status: Status
    public let amountMinor: Int64
    public let currency: String
    public let merchant: Merchant?
    public let channel: Channel?
    public let deviceLocation: GeoPoint?
    public let networkReference: String?
    public let declineReason: DeclineReason?
    /// ISO 8583 field 39: "00" approved, "51" insufficient funds, ...
    public let responseCode: String?
    public let policy: Policy?
    public let hold: Hold?
    /// The card's spendable balance right after the decision (or its latest approved increment).
    public let availableMinor: Int64?
    public let review: JSONValue?
    public let customerDecision: JSONValue?
    public let adjustments: [JSONValue]?
    /// Where the request came from: the HTTP API or a card network over ISO 8583.
    public let source: Source?
    public let createdAt: Date?
    public let updatedAt: Date?

    public enum Status: OpenEnum {
        case approved, declined, review, reversed, expired, cleared
        case unknown(String)
        public static let known: [Status] = [.approved, .declined, .review, .reversed, .expired, .cleared]
    }

    public enum Source: OpenEnum {
        case api, iso8583
        case unknown(String)
        public static let known: [Source] = [.api, .iso8583]
    }

    /// The rules in the order they ran, each with its result, and the one that decided.
    public struct Policy: Codable, Hashable, Sendable {
        public let decision: String?
        public let decidingRule: String?
        public let rules: [Rule]?

        public struct Rule: Codable, Hashable, Sendable {
            public let rule: String
            public let result: String
            public let inputs: JSONValue?
        }

        enum CodingKeys: String, CodingKey {
            case decision, rules
            case decidingRule = "deciding_rule"
        }
    }

    /// The money an approval holds until clearing, a reversal or expiry.
    public struct Hold: Codable, Hashable, Sendable {
        public let amountMinor: Int64
        public let currency: String
        public let journalEntry: String?
        public let status: String?
        public let expiresAt: Date?

        enum CodingKeys: String, CodingKey {
            case currency, status
            case amountMinor = "amount_minor"
            case journalEntry = "journal_entry"
            case expiresAt = "expires_at"
        }
    }

    enum CodingKeys: String, CodingKey {
        case id, card, last4, status, currency, merchant, channel, policy, hold, review, adjustments, source
        case amountMinor = "amount_minor"
        case deviceLocation = "device_location"
        case networkReference = "network_reference"
        case declineReason = "decline_reason"
        case responseCode = "response_code"
        case availableMinor = "available_minor"
        case customerDecision = "customer_decision"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

public enum DeclineReason: OpenEnum {
    case cardLocked, cardClosed, cardExpired, currencyMismatch, channelBlocked, merchantCategoryBlocked,
         countryBlocked, geofenceMismatch, perTransactionLimit, dailyLimit, weeklyLimit, monthlyLimit,
         lifetimeLimit, insufficientFunds, reviewDeclined, customerDeclined, networkDeclined
    case unknown(String)
    public static let known: [DeclineReason] = [
        .cardLocked, .cardClosed, .cardExpired, .currencyMismatch, .channelBlocked, .merchantCategoryBlocked,
        .countryBlocked, .geofenceMismatch, .perTransactionLimit, .dailyLimit, .weeklyLimit, .monthlyLimit,
        .lifetimeLimit, .insufficientFunds, .reviewDeclined, .customerDeclined, .networkDeclined,
    ]
}

/// Where the card was used.
public struct Merchant: Codable, Hashable, Sendable {
    public var id: String
    public var name: String
    /// 4 digits.
    public var mcc: String
    /// ISO 3166-1 alpha-2.
    public var country: String
    public var city: String?
    public var lat: Double?
    public var lon: Double?

    public init(id: String, name: String, mcc: String, country: String, city: String? = nil, lat: Double? = nil, lon: Double? = nil) {
        self.id = id
        self.name = name
        self.mcc = mcc
        self.country = country
        self.city = city
        self.lat = lat
        self.lon = lon
    }
}

/// A place, in degrees.
public struct GeoPoint: Codable, Hashable, Sendable {
    public var lat: Double
    public var lon: Double

    public init(lat: Double, lon: Double) {
        self.lat = lat
        self.lon = lon
    }
}

public enum ReviewDecision: OpenEnum {
    case approve, decline
    case unknown(String)
    public static let known: [ReviewDecision] = [.approve, .decline]
}
