public enum CardKind: IdentifierKind { public static let prefix = "card_" }
public typealias CardID = ID<CardKind>

public enum CardType: String, Sendable, Codable, Hashable, CaseIterable {
    case virtual
    case physical
}

/// `active` ⇄ `locked`; `closed` only through the operator closure path, and final.
/// Money moved from a customer's wallet to a card, keyed by its `transaction_reference`.
public struct CardFunding: Sendable, Hashable, Codable {
    public let id: TransactionID
    public let object: String
    public let card: CardID
    public let account: AccountID
    public let amountMinor: Int64
    public let currency: Currency
    public let source: String
    public let transactionReference: String
    public let journalEntry: JournalEntryID
    public let intent: IntentID
    public let createdAt: Timestamp

    public init(
        id: TransactionID, card: CardID, account: AccountID, amountMinor: Int64, currency: Currency, transactionReference: String,
        journalEntry: JournalEntryID, intent: IntentID, createdAt: Timestamp
    ) {
        self.id = id
        self.object = ObjectType.cardFunding.rawValue
        self.card = card
        self.account = account
        self.amountMinor = amountMinor
        self.currency = currency
        self.source = "wallet"
        self.transactionReference = transactionReference
        self.journalEntry = journalEntry
        self.intent = intent
        self.createdAt = createdAt
    }
}

public enum CardStatus: String, Sendable, Codable, Hashable, CaseIterable {
    case active
    case locked
    case closed
}

/// Where a physical card is sent.
public struct ShippingAddress: Sendable, Hashable, Codable {
    public var name: String
    public var line1: String
    public var line2: String?
    public var city: String
    public var state: String?
    public var postalCode: String
    public var country: String

    public func validated() throws(DomainError) -> ShippingAddress {
        func text(_ value: String, _ field: String, max: Int = 200) throws(DomainError) -> String {
            let trimmed = value.trimming(.whitespacesAndNewlines)
            guard !trimmed.isEmpty, trimmed.count <= max else {
                throw DomainError.parameterInvalid("shipping.\(field)", "must be 1 to \(max) characters")
            }
            return trimmed
        }
        var result = self
        result.name = try text(name, "name")
        result.line1 = try text(line1, "line1")
        result.city = try text(city, "city")
        result.postalCode = try text(postalCode, "postal_code", max: 20)
        result.country = country.uppercased()
        guard Countries.alpha2.contains(result.country) else {
            throw DomainError.parameterInvalid("shipping.country", "'\(country)' is not an ISO 3166-1 alpha-2 country code")
        }
        return result
    }
}

/// A card as every API answer shows it: last4 and expiry, never the PAN or CVV.
public struct Card: Sendable, Hashable, Codable {
    /// Where a physical card's plastic is, as stored in the `fulfillment_status` column. No
    /// fulfilment partner reports yet, so a physical card stays `pending`.
    public enum FulfillmentStatus: String, Sendable, Codable, Hashable, CaseIterable {
        case pending
    }

    public let id: CardID
    public let object: String
    public var status: CardStatus
    public let type: CardType
    public let last4: String
    public let expMonth: Int
    public let expYear: Int
    public let customer: CustomerID
    public let account: AccountID
    public let program: CardProgramID
    public let currency: Currency
    /// The card's spendable balance: its ledger account, funded from the customer's wallet.
    public let availableMinor: Int64
    public let ledgerAccount: LedgerAccountID
    /// Card money held by open authorizations, and its ledger account.
    public let heldMinor: Int64
    public let reservedLedgerAccount: LedgerAccountID
    /// Spend and what remains in each window; filled by `GET /cards/{id}`.
    public var spend: CardSpend?
    public var spendControls: SpendControls
    public var geofenceEnabled: Bool
    public var geofenceRadiusKm: Int
    public let shipping: ShippingAddress?
    /// Physical cards: where the plastic is (`pending` until a fulfilment partner reports).
    public let fulfillmentStatus: FulfillmentStatus?
    public let createdAt: Timestamp
    public var updatedAt: Timestamp

    public init(
        id: CardID, status: CardStatus, type: CardType, last4: String, expMonth: Int, expYear: Int, customer: CustomerID,
        account: AccountID, program: CardProgramID, currency: Currency, availableMinor: Int64, ledgerAccount: LedgerAccountID,
        heldMinor: Int64, reservedLedgerAccount: LedgerAccountID, spendControls: SpendControls, geofenceEnabled: Bool,
        geofenceRadiusKm: Int, shipping: ShippingAddress?, fulfillmentStatus: FulfillmentStatus?, createdAt: Timestamp, updatedAt: Timestamp
    ) {
        self.id = id
        self.object = ObjectType.card.rawValue
        self.status = status
        self.type = type
        self.last4 = last4
        self.expMonth = expMonth
        self.expYear = expYear
        self.customer = customer
        self.account = account
        self.program = program
        self.currency = currency
        self.availableMinor = availableMinor
        self.ledgerAccount = ledgerAccount
        self.heldMinor = heldMinor
        self.reservedLedgerAccount = reservedLedgerAccount
        self.spend = nil
        self.spendControls = spendControls
        self.geofenceEnabled = geofenceEnabled
        self.geofenceRadiusKm = geofenceRadiusKm
        self.shipping = shipping
        self.fulfillmentStatus = fulfillmentStatus
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    public static let defaultGeofenceRadiusKm = 50
    public static let geofenceRadiusKmRange = 1...20_000
    /// Cards are valid for this many years from issuance, to the end of the month.
    public static let validityYears = 3
}

/// A card's spend in its current windows (in its tenant's time zone) against its limits.
public struct CardSpend: Sendable, Hashable, Codable {
    public struct Window: Sendable, Hashable, Codable {
        public let usedMinor: Int64
        public let limitMinor: Int64?
        /// `nil` when the window has no limit.
        public let remainingMinor: Int64?

        init(used: Int64, limit: Int64?) {
            self.usedMinor = used
            self.limitMinor = limit
            self.remainingMinor = limit.map { max(0, $0 - used) }
        }
    }

    public let timeZone: String
    public let perTransactionLimitMinor: Int64?
    public let daily: Window
    public let weekly: Window
    public let monthly: Window
    public let lifetime: Window

    public init(controls: SpendControls, usage: SpendUsage, timeZone: String) {
        self.timeZone = timeZone
        self.perTransactionLimitMinor = controls.perTransactionMinor
        self.daily = Window(used: usage.dailyMinor, limit: controls.dailyMinor)
        self.weekly = Window(used: usage.weeklyMinor, limit: controls.weeklyMinor)
        self.monthly = Window(used: usage.monthlyMinor, limit: controls.monthlyMinor)
        self.lifetime = Window(used: usage.lifetimeMinor, limit: controls.lifetimeMinor)
    }
}

/// Card numbers: digits under a BIN with a Luhn check digit.
public enum PAN {
    public static let length = 16

    /// A PAN under `bin`, its middle digits from `randomDigit`, and its Luhn check digit.
    public static func make(bin: String, randomDigit: () -> UInt8) -> String {
        var digits = bin.compactMap { $0.wholeNumberValue.map(UInt8.init) }
        while digits.count < length - 1 { digits.append(randomDigit() % 10) }
        digits.append(checkDigit(digits))
        return String(digits.map { Character(String($0)) })
    }

    /// The Luhn check digit for `payload` (all digits but the last).
    public static func checkDigit(_ payload: [UInt8]) -> UInt8 {
        var sum = 0
        for (offset, digit) in payload.reversed().enumerated() {
            var value = Int(digit)
            if offset % 2 == 0 {
                value *= 2
                if value > 9 { value -= 9 }
            }
            sum += value
        }
        return UInt8((10 - sum % 10) % 10)
    }

    public static func isValid(_ pan: String) -> Bool {
        let digits = pan.compactMap { $0.wholeNumberValue.map(UInt8.init) }
        guard digits.count == pan.count, (12...19).contains(digits.count) else { return false }
        return checkDigit(Array(digits.dropLast())) == digits.last
    }

    /// Expiry `validityYears` after `issuedAt`, as (month, year).
    public static func expiry(issuedAt: Timestamp) -> (month: Int, year: Int) {
        let days = issuedAt.microseconds / 86_400_000_000
        let (year, month, _) = Timestamp.civil(fromDays: days)
        return (Int(month), Int(year) + Card.validityYears)
    }
}

import Foundation
