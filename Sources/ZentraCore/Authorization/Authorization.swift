import Foundation

public enum AuthorizationKind: IdentifierKind { public static let prefix = "auth_" }
public typealias AuthorizationID = ID<AuthorizationKind>

/// Where an authorization is. `approved`, `declined` and `review` are the first decision; a held
/// authorization (approved or in review) later ends `reversed` (its whole hold released) or `expired`
/// (not cleared within the program's hold lifetime) or `cleared` (a clearing record closed its hold),
/// and a review ends `approved` or `declined`.
public enum AuthorizationStatus: String, Sendable, Codable, Hashable, CaseIterable {
    case approved
    case declined
    case review
    case reversed
    case expired
    case cleared

    /// Statuses whose hold still reserves card funds and counts against the spend windows.
    public var holdsFunds: Bool { self == .approved || self == .review }

    /// Statuses that count as approved on the console's dashboard: approved itself, and the ones an
    /// approval's hold ends in (reversed, expired and cleared authorizations were approved first).
    public var wasApproved: Bool {
        switch self {
        case .approved, .cleared, .reversed, .expired: true
        default: false
        }
    }
}

/// Why an authorization was declined, and what the network hears in ISO 8583 field 39.
public enum DeclineReason: String, Sendable, Codable, Hashable, CaseIterable {
    case cardLocked = "card_locked"
    case cardClosed = "card_closed"
    case cardExpired = "card_expired"
    case currencyMismatch = "currency_mismatch"
    case channelBlocked = "channel_blocked"
    case merchantCategoryBlocked = "merchant_category_blocked"
    case countryBlocked = "country_blocked"
    case geofenceMismatch = "geofence_mismatch"
    case perTransactionLimit = "per_transaction_limit"
    case dailyLimit = "daily_limit"
    case weeklyLimit = "weekly_limit"
    case monthlyLimit = "monthly_limit"
    case lifetimeLimit = "lifetime_limit"
    case insufficientFunds = "insufficient_funds"
    case reviewDeclined = "review_declined"
    case customerDeclined = "customer_declined"
    /// A card network declined in stand-in, where the policy would not have (an `0120` advice).
    case networkDeclined = "network_declined"

    /// ISO 8583 field 39. The mapping is part of the contract (docs/authorizations.md, "Rule order").
    public var responseCode: String {
        switch self {
        case .cardLocked: "62"             // restricted card
        case .cardClosed: "14"             // invalid card (no longer usable)
        case .cardExpired: "54"            // expired card
        case .currencyMismatch: "12"       // invalid transaction
        case .channelBlocked, .merchantCategoryBlocked: "57"   // transaction not permitted to cardholder
        case .countryBlocked: "62"         // restricted card (restricted in this country)
        case .geofenceMismatch: "59"       // suspected fraud
        case .perTransactionLimit, .dailyLimit, .weeklyLimit, .monthlyLimit, .lifetimeLimit: "61"   // exceeds amount limit
        case .insufficientFunds: "51"      // not sufficient funds
        case .reviewDeclined, .customerDeclined, .networkDeclined: "05"   // do not honour
        }
    }

    public static let approvedResponseCode = "00"
}

/// A point on the earth, in degrees.
public struct GeoPoint: Sendable, Hashable, Codable {
    public var lat: Double
    public var lon: Double

    public init(lat: Double, lon: Double) {
        self.lat = lat
        self.lon = lon
    }

    public func validated(param: String) throws(DomainError) -> GeoPoint {
        guard lat.isFinite, (-90...90).contains(lat) else { throw DomainError.parameterInvalid("\(param).lat", "must be from -90 to 90") }
        guard lon.isFinite, (-180...180).contains(lon) else { throw DomainError.parameterInvalid("\(param).lon", "must be from -180 to 180") }
        return self
    }

    public static let earthRadiusKm = 6_371.0088

    /// Great-circle distance in kilometres (haversine).
    public func distanceKm(to other: GeoPoint) -> Double {
        let toRadians = Double.pi / 180
        let dLat = (other.lat - lat) * toRadians
        let dLon = (other.lon - lon) * toRadians
        let a = sin(dLat / 2) * sin(dLat / 2) + cos(lat * toRadians) * cos(other.lat * toRadians) * sin(dLon / 2) * sin(dLon / 2)
        return 2 * Self.earthRadiusKm * asin(min(1, a.squareRoot()))
    }
}

/// The merchant as the network describes it.
public struct Merchant: Sendable, Hashable, Codable {
    public var id: String
    public var name: String
    public var mcc: String
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

    public var location: GeoPoint? {
        guard let lat, let lon else { return nil }
        return GeoPoint(lat: lat, lon: lon)
    }

    /// Strict checks: a 4-digit MCC, an ISO 3166 country, names of sane length, both or neither coordinate.
    public func validated() throws(DomainError) -> Merchant {
        var result = self
        func text(_ value: String, _ field: String, max: Int) throws(DomainError) -> String {
            let trimmed = value.trimming(.whitespacesAndNewlines)
            guard !trimmed.isEmpty, trimmed.count <= max else { throw DomainError.parameterInvalid("merchant.\(field)", "must be 1 to \(max) characters") }
            return trimmed
        }
        result.id = try text(id, "id", max: 64)
        result.name = try text(name, "name", max: 200)
        if let city { result.city = try text(city, "city", max: 100) }
        guard mcc.count == 4, mcc.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw DomainError.parameterInvalid("merchant.mcc", "must be a 4-digit merchant category code")
        }
        result.country = country.uppercased()
        guard Countries.alpha2.contains(result.country) else {
            throw DomainError.parameterInvalid("merchant.country", "'\(country)' is not an ISO 3166-1 alpha-2 country code")
        }
        switch (lat, lon) {
        case (nil, nil): break
        case (let lat?, let lon?): _ = try GeoPoint(lat: lat, lon: lon).validated(param: "merchant")
        default: throw DomainError.parameterInvalid("merchant.lat", "send both lat and lon, or neither")
        }
        return result
    }
}

/// The money an authorization holds: card funds moved to the card's reserved ledger account.
public struct AuthorizationHold: Sendable, Hashable, Codable {
    /// What is held now: the approved amount plus increments, less reversals.
    public var amountMinor: Int64
    public let currency: Currency
    /// The entry that placed the hold.
    public let journalEntry: JournalEntryID
    public var status: HoldStatus
    /// When an uncleared hold is released (the program's hold lifetime after the decision).
    public let expiresAt: Timestamp

    public enum HoldStatus: String, Sendable, Codable, Hashable {
        case held
        case released
        /// Closed by a clearing: paid to the network, its remainder released.
        case cleared
    }

    public init(amountMinor: Int64, currency: Currency, journalEntry: JournalEntryID, status: HoldStatus, expiresAt: Timestamp) {
        self.amountMinor = amountMinor
        self.currency = currency
        self.journalEntry = journalEntry
        self.status = status
        self.expiresAt = expiresAt
    }
}

/// An operator review: what the network heard while it was open, and how it was settled.
public struct AuthorizationReview: Sendable, Hashable, Codable {
    public let networkOutcome: ReviewOutcome
    public var decision: ReviewOutcome?
    public var note: String?
    public var decidedBy: String?
    public var decidedAt: Timestamp?

    public init(networkOutcome: ReviewOutcome, decision: ReviewOutcome? = nil, note: String? = nil, decidedBy: String? = nil,
                decidedAt: Timestamp? = nil) {
        self.networkOutcome = networkOutcome
        self.decision = decision
        self.note = note
        self.decidedBy = decidedBy
        self.decidedAt = decidedAt
    }
}

/// Something that happened to an authorization after its decision: an increment (approved or
/// declined, with its own policy trace), a reversal, the review settled, the hold expired.
public struct AuthorizationAdjustment: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Codable, Hashable {
        case increment
        case reversal
        case reviewApproved = "review_approved"
        case reviewDeclined = "review_declined"
        case expiry
        case clearing
    }

    /// What the adjustment did: an increment is `approved` or `declined`, as is a settled review; a
    /// reversal or an expiry `released` held funds; a clearing `cleared` the hold.
    public enum Status: String, Sendable, Codable, Hashable, CaseIterable {
        case approved
        case declined
        case released
        case cleared
    }

    public let type: Kind
    public let amountMinor: Int64
    public let status: Status
    public let declineReason: DeclineReason?
    public let responseCode: String?
    public let policy: JSONValue?
    public let journalEntry: JournalEntryID?
    /// The card's spendable balance right after an approved increment.
    public let availableAfterMinor: Int64?
    public let createdAt: Timestamp

    public init(type: Kind, amountMinor: Int64, status: Status, declineReason: DeclineReason? = nil, responseCode: String? = nil,
                policy: JSONValue? = nil, journalEntry: JournalEntryID?, availableAfterMinor: Int64? = nil, createdAt: Timestamp) {
        self.type = type
        self.amountMinor = amountMinor
        self.status = status
        self.declineReason = declineReason
        self.responseCode = responseCode
        self.policy = policy
        self.journalEntry = journalEntry
        self.availableAfterMinor = availableAfterMinor
        self.createdAt = createdAt
    }
}

/// A decision's trace: the policy's decision itself, rendered when written, or the rendering a
/// decision of schema 8 stored as it was answered.
public enum PolicyTrace: Sendable, Hashable, Codable {
    case decided(PolicyDecision)
    case stored(JSONValue)

    public init(from decoder: any Decoder) throws {
        self = .stored(try JSONValue(from: decoder))
    }

    public func encode(to encoder: any Encoder) throws {
        try json.encode(to: encoder)
    }
}

extension Authorization {
    /// `availableMinor` as the adjustments leave it: after the latest approved increment, if any.
    public mutating func takeAvailabilityFromAdjustments() {
        if let after = adjustments.last(where: { $0.availableAfterMinor != nil })?.availableAfterMinor { availableMinor = after }
    }

    /// Every journal entry of this authorization's money, in order: the hold, then each adjustment's.
    public var journalEntries: [JournalEntryID] {
        [hold?.journalEntry].compactMap { $0 } + adjustments.compactMap(\.journalEntry)
    }
}

/// An authorization as the API answers it. Never a PAN: the card by id and last4.
public struct Authorization: Sendable, Hashable, Codable {
    public let id: AuthorizationID
    public let object: String
    public let card: CardID
    public let last4: String
    public var status: AuthorizationStatus
    /// The amount the network asked for first.
    public let amountMinor: Int64
    public let currency: Currency
    public let merchant: Merchant
    public let channel: Channel
    public let deviceLocation: GeoPoint?
    public let networkReference: String
    public var declineReason: DeclineReason?
    /// ISO 8583 field 39 of the first decision.
    public let responseCode: String
    /// `{"deciding_rule": ..., "decision": ..., "rules": [...]}`: every rule in order with its inputs and result.
    public let policy: PolicyTrace
    public var hold: AuthorizationHold?
    /// The card's spendable balance right after the decision, or after its latest approved increment.
    public var availableMinor: Int64
    public var review: AuthorizationReview?
    public var customerDecision: CustomerDecision?
    public var adjustments: [AuthorizationAdjustment]
    /// Where the request came from; nil for decisions rendered as before sources were named.
    public let source: AuthorizationSource?
    public let createdAt: Timestamp
    public var updatedAt: Timestamp

    public init(id: AuthorizationID, card: CardID, last4: String, status: AuthorizationStatus, amountMinor: Int64, currency: Currency,
                merchant: Merchant, channel: Channel, deviceLocation: GeoPoint?, networkReference: String,
                declineReason: DeclineReason?, responseCode: String, policy: PolicyTrace, hold: AuthorizationHold?,
                availableMinor: Int64, review: AuthorizationReview?, customerDecision: CustomerDecision?,
                adjustments: [AuthorizationAdjustment], source: AuthorizationSource? = nil, createdAt: Timestamp, updatedAt: Timestamp) {
        self.id = id
        self.object = ObjectType.authorization.rawValue
        self.card = card
        self.last4 = last4
        self.status = status
        self.amountMinor = amountMinor
        self.currency = currency
        self.merchant = merchant
        self.channel = channel
        self.deviceLocation = deviceLocation
        self.networkReference = networkReference
        self.declineReason = declineReason
        self.responseCode = responseCode
        self.policy = policy
        self.hold = hold
        self.availableMinor = availableMinor
        self.review = review
        self.customerDecision = customerDecision
        self.adjustments = adjustments
        self.source = source
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}
