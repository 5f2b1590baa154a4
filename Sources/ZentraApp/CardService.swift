import ZentraCore
import ZentraStorage

public struct CreateCard: Sendable, Decodable {
    public var customer: Reference<CustomerKind>
    public var account: Reference<AccountKind>
    /// Defaults to the tenant's one program, when it has exactly one.
    public var program: Reference<CardProgramKind>?
    /// `virtual` unless named.
    public var type: String?
    public var spendLimitMinor: Int64?
    public var spendControls: SpendControls?
    public var geofenceEnabled: Bool?
    public var geofenceRadiusKm: Int?
    public var shipping: ShippingAddress?
}

/// Issuing cards. Checks run in this order, and the first that fails answers:
/// 1. the input itself (type, shipping for physical cards only, controls, geofence radius);
/// 2. the customer exists (404 `resource_missing`, param `customer`) and is KYC verified (`kyc_required`);
/// 3. the account exists (404, param `account`) and belongs to that customer (400 `parameter_invalid`);
/// 4. the program exists (404, param `program`) and its currency is the account's (`invalid_currency`);
/// 5. the customer holds fewer open cards of the program than its cap (`card_limit_reached`).
/// The customer row is locked first, so concurrent issuances for one customer are counted exactly.
public enum CardService {
    public static func issue(_ input: CreateCard, vault: CardVault, in tx: WriteTransaction) async throws -> Card {
        let type = try Validate.enumValue(input.type ?? CardType.virtual.rawValue, "type", as: CardType.self)
        let shipping: ShippingAddress?
        switch (type, input.shipping) {
        case (.physical, nil): throw DomainError.parameterMissing("shipping")
        case (.physical, let address?): shipping = try address.validated()
        case (.virtual, nil): shipping = nil
        case (.virtual, _?): throw DomainError.parameterInvalid("shipping", "only physical cards are shipped")
        }
        let radius = input.geofenceRadiusKm ?? Card.defaultGeofenceRadiusKm
        guard Card.geofenceRadiusKmRange.contains(radius) else {
            throw DomainError.parameterInvalid("geofence_radius_km", "must be from 1 to \(Card.geofenceRadiusKmRange.upperBound)")
        }
        if let limit = input.spendLimitMinor { try MinorUnits.requirePositive(limit, param: "spend_limit_minor") }
        let requested = try (input.spendControls ?? SpendControls()).validated(param: "spend_controls")

        var intent = IntentTracker(tx, type: .cardIssue, spec: IntentSpec(), detail: "issue a \(type.rawValue) card")
        let customerID = try input.customer.id("customer", param: "customer")
        let customer = try await tx.customers.locked(customerID, param: "customer")
        guard customer.kycStatus == .verified else { throw DomainError.kycRequired(customerID.rawValue) }
        let accountID = try input.account.id("account", param: "account")
        let account = try await tx.accounts.require(accountID, param: "account")
        guard account.customer == customerID else {
            throw DomainError.parameterInvalid("account", "belongs to another customer")
        }
        let program = try await resolveProgram(input.program, in: tx)
        guard program.currency == account.currency else {
            throw DomainError(.unprocessable, code: "invalid_currency",
                              message: "The account is in \(account.currency.code) but program \(program.id) issues \(program.currency.code) cards.",
                              param: "account")
        }
        let open = try await tx.cards.openCount(customer: customerID, program: program.id)
        guard open < Int64(program.maxCardsPerCustomer) else {
            throw DomainError(.unprocessable, code: "card_limit_reached",
                              message: "Customer \(customerID) already holds \(open) cards of program \(program.id) (the maximum).",
                              param: "customer")
        }
        try intent.advance(.validated, "customer verified, account and program in \(account.currency.code), \(open) of \(program.maxCardsPerCustomer) cards held")

        var controls = requested.overriding(program.spendControls)
        if let limit = input.spendLimitMinor { controls.monthlyMinor = limit }
        try intent.advance(.policyEvaluated, "spend controls: program defaults with this card's overrides")

        var generator = SystemRandomNumberGenerator()
        let pan = PAN.make(bin: program.bin) { UInt8.random(in: 0...9, using: &generator) }
        let cvv = String(format: "%03d", Int.random(in: 0...999, using: &generator))
        let (expMonth, expYear) = PAN.expiry(issuedAt: tx.now)
        let cardID: CardID = tx.newID()
        let ledgerAccounts = try await tx.ledger.insertCardAccounts(card: cardID, account: accountID, currency: program.currency)
        let card = Card(
            id: cardID, status: .active, type: type, last4: String(pan.suffix(4)), expMonth: expMonth, expYear: expYear,
            customer: customerID, account: accountID, program: program.id, currency: program.currency, availableMinor: 0,
            ledgerAccount: ledgerAccounts.available, heldMinor: 0, reservedLedgerAccount: ledgerAccounts.reserved, spendControls: controls,
            geofenceEnabled: input.geofenceEnabled ?? false, geofenceRadiusKm: radius, shipping: shipping,
            fulfillmentStatus: type == .physical ? .pending : nil, createdAt: tx.now, updatedAt: tx.now)
        // A PAN already issued anywhere trips the unique hash; the unit of work then runs again with a new one.
        try await tx.cards.insert(card, panHash: vault.lookupHash(pan: pan), sealedData: try vault.seal(pan: pan, cvv: cvv, tenant: tx.tenant))

        let event = try tx.emit(.cardIssued, objectType: .card, objectID: card.id.rawValue, data: card)
        try intent.advance(.eventsEmitted, EventType.cardIssued.rawValue, events: [event])
        let audit = tx.audit(.event(.cardIssued), objectType: .card, objectID: card.id.rawValue, context: .object([
            "customer": .string(customerID.rawValue), "account": .string(accountID.rawValue), "program": .string(program.id.rawValue),
            "type": .string(type.rawValue), "last4": .string(card.last4), "intent": .string(intent.id.rawValue),
        ]))
        try intent.advance(.audited, "\(EventType.cardIssued.rawValue) recorded", auditRecords: [audit])
        _ = try intent.complete(subject: card.id.rawValue)
        return card
    }

    /// The named program; without one, the tenant's only program.
    static func resolveProgram(_ named: Reference<CardProgramKind>?, in tx: WriteTransaction) async throws -> CardProgram {
        if let named {
            guard let program = try await tx.cardPrograms.find(try named.id("card program", param: "program")) else {
                throw DomainError.resourceMissing("card program", id: named.text, param: "program")
            }
            return program
        }
        let programs = try await tx.cardPrograms.list(PageRequest(limit: 2))
        switch programs.data.count {
        case 1: return programs.data[0]
        case 0:
            throw DomainError(.invalidRequest, code: "parameter_missing",
                              message: "Missing required parameter: program. The tenant has no card program yet: create one with POST /card-programs.",
                              param: "program")
        default:
            throw DomainError(.invalidRequest, code: "parameter_missing",
                              message: "Missing required parameter: program. The tenant has several card programs, so the card must name one.",
                              param: "program")
        }
    }

    /// PAN, CVV and expiry, for programs that enable it (only admin keys reach it: `AccessPolicy`);
    /// every read is audited.
    public static func sensitiveDetails(_ id: CardID, vault: CardVault, in tx: WriteTransaction) async throws -> SensitiveDetails {
        guard let card = try await tx.cards.find(id) else { throw DomainError.resourceMissing("card", id: id.rawValue) }
        guard let program = try await tx.cardPrograms.find(card.program), program.sensitiveDetailsEnabled else {
            throw DomainError(.forbidden, code: "sensitive_details_unavailable",
                              message: "Sensitive card details are only shown to admin keys, for programs that enable them.")
        }
        guard let sealed = try await tx.cards.sealedData(id) else { throw DomainError.resourceMissing("card", id: id.rawValue) }
        let secret = try vault.open(sealed, tenant: tx.tenant)
        tx.audit(.cardSensitiveDetailsRead, objectType: .card, objectID: id.rawValue, context: .object(["last4": .string(card.last4)]))
        return SensitiveDetails(id: id, pan: secret.pan, cvv: secret.cvv, expMonth: card.expMonth, expYear: card.expYear)
    }

    public struct SensitiveDetails: Sendable, Encodable {
        public let id: CardID
        public let object = "card_sensitive_details"
        public let pan: String
        public let cvv: String
        public let expMonth: Int
        public let expYear: Int
    }
}

import Foundation
