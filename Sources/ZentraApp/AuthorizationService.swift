import Foundation
import ZentraCore
import ZentraStorage

/// A network's authorization request as sent: read field by field from the body parsed once (this
/// path decodes nothing twice); `AuthorizationRequest` checks it.
public struct AuthorizeInput: Sendable {
    public var card: Reference<CardKind>
    public var amountMinor: Int64
    public var currency: String
    public var merchant: Merchant
    public var channel: String
    public var deviceLocation: GeoPoint?
    public var networkReference: String

    public init(card: Reference<CardKind>, amountMinor: Int64, currency: String, merchant: Merchant, channel: String, deviceLocation: GeoPoint?,
                networkReference: String) {
        self.card = card
        self.amountMinor = amountMinor
        self.currency = currency
        self.merchant = merchant
        self.channel = channel
        self.deviceLocation = deviceLocation
        self.networkReference = networkReference
    }

    public init(json: JSONValue) throws(DomainError) {
        let body = try JSONFields(json)
        let merchant = try body.object("merchant")
        card = Reference(try body.string("card"))
        amountMinor = try body.int("amount_minor")
        currency = try body.string("currency")
        self.merchant = Merchant(id: try merchant.string("id"), name: try merchant.string("name"), mcc: try merchant.string("mcc"),
                                 country: try merchant.string("country"), city: try merchant.optionalString("city"),
                                 lat: try merchant.optionalDouble("lat"), lon: try merchant.optionalDouble("lon"))
        channel = try body.string("channel")
        deviceLocation = try body.optionalObject("device_location").map { (location) throws(DomainError) in
            GeoPoint(lat: try location.double("lat"), lon: try location.double("lon"))
        }
        networkReference = try body.string("network_reference")
    }
}

public struct ReverseInput: Sendable, Decodable {
    public var amountMinor: Int64?
    /// What the hold comes down to, instead of an amount to release: a card network's partial
    /// reversal names the amount that stays (ISO 8583 field 95), so sending it twice changes
    /// nothing the second time. Not part of the HTTP body.
    public var remainingMinor: Int64? = nil

    enum CodingKeys: String, CodingKey {
        case amountMinor
    }

    public init(amountMinor: Int64? = nil, remainingMinor: Int64? = nil) {
        self.amountMinor = amountMinor
        self.remainingMinor = remainingMinor
    }
}

public struct IncrementInput: Sendable, Decodable {
    public var amountMinor: Int64
}

public struct ReviewDecisionInput: Sendable, Decodable {
    public var decision: String
    public var note: String?

    public init(decision: String, note: String?) {
        self.decision = decision
        self.note = note
    }
}

/// The network's request, checked.
public struct AuthorizationRequest: Sendable {
    public let card: CardID
    public let amount: Money
    public let merchant: Merchant
    public let channel: Channel
    public let deviceLocation: GeoPoint?
    public let networkReference: String
    /// When the request arrived (evidence timings).
    public let receivedAt: Timestamp
    /// The card network's message, when the request came over ISO 8583.
    public let network: NetworkMessage?

    public init(_ input: AuthorizeInput, receivedAt: Timestamp, network: NetworkMessage? = nil) throws {
        card = try input.card.id("card", param: "card")
        let currency = try Validate.currency(input.currency)
        try MinorUnits.requirePositive(input.amountMinor, param: "amount_minor")
        amount = Money(minor: input.amountMinor, currency: currency)
        merchant = try input.merchant.validated()
        channel = try Validate.enumValue(input.channel, "channel", as: Channel.self)
        deviceLocation = try input.deviceLocation?.validated(param: "device_location")
        networkReference = try Validate.text(input.networkReference, "network_reference", max: 128)
        self.receivedAt = receivedAt
        self.network = network
    }
}

/// Everything after a decision (decisions themselves are `AuthorizationBatch`). Each use case locks
/// the card's state first, then the authorization, then (through `post`) other ledger accounts in id
/// order, then the tenant head: one lock order.
public enum AuthorizationService {
    /// Releases all of a hold or part of it; never more than is held.
    public static func reverse(_ id: AuthorizationID, _ input: ReverseInput, in tx: WriteTransaction) async throws -> Authorization {
        let (stored, context) = try await lock(id, in: tx)
        var authorization = stored.authorization
        guard authorization.status.holdsFunds, let hold = authorization.hold, hold.status == .held, hold.amountMinor > 0 else {
            throw DomainError(.conflict, code: "authorization_not_held",
                              message: "Authorization \(authorization.id) is \(authorization.status.rawValue) and holds nothing to reverse.")
        }
        if let remaining = input.remainingMinor, remaining == hold.amountMinor { return authorization }
        let amount = input.remainingMinor.map { hold.amountMinor - $0 } ?? input.amountMinor ?? hold.amountMinor
        try MinorUnits.requirePositive(amount, param: "amount_minor")
        guard amount <= hold.amountMinor else {
            throw DomainError.parameterInvalid("amount_minor", "\(amount) is more than the \(hold.amountMinor) held")
        }
        let entry = try await release(amount, of: &authorization, stored: stored, context: context, why: "reversal", in: tx)
        if authorization.hold?.amountMinor == 0 { authorization.status = .reversed }
        authorization.adjustments.append(AuthorizationAdjustment(type: .reversal, amountMinor: amount, status: .released,
                                                                 journalEntry: entry.id, createdAt: tx.now))
        return try await finish(authorization, event: .authorizationReversed, in: tx)
    }

    /// Asks for more on an approved authorization: the card rules, limits and funds run again on the
    /// added amount (the per-transaction limit on the new total). Review rules and the customer's
    /// webhook are asked on the first decision only. A declined increment leaves the hold as it was.
    public static func increment(_ id: AuthorizationID, _ input: IncrementInput, in tx: WriteTransaction) async throws -> Authorization {
        try MinorUnits.requirePositive(input.amountMinor, param: "amount_minor")
        let (stored, context) = try await lock(id, in: tx)
        var authorization = stored.authorization
        guard authorization.status == .approved, var hold = authorization.hold, hold.status == .held else {
            throw DomainError(.conflict, code: "authorization_not_approved",
                              message: "Only an approved authorization with a hold can be incremented; \(authorization.id) is \(authorization.status.rawValue).")
        }
        let card = context.card
        let keys = WindowKeys(at: tx.now, utcOffsetSeconds: TimeZones.utcOffsetSeconds(context.timeZone, at: tx.now))
        let added = Money(minor: input.amountMinor, currency: authorization.currency)
        let decision = AuthorizationPolicy.evaluate(PolicyInput(
            card: context.version.policySnapshot, amount: added, transactionTotalMinor: try MinorUnits.add(hold.amountMinor, added.minor),
            merchant: authorization.merchant, channel: authorization.channel, deviceLocation: authorization.deviceLocation, now: tx.now,
            spend: context.counters.usage(at: keys), availableMinor: card.availableMinor, reviewRules: [],
            reviewOutcome: context.program.reviewOutcome, webhookConfigured: false, customer: nil))
        var entry: JournalEntry?
        var availableAfter: Int64?
        if decision.status == .approved {
            availableAfter = card.availableMinor - added.minor
            entry = try await tx.ledger.post(
                LedgerRecipes.hold(amount: added, cardAvailable: card.ledgerAccount, cardReserved: card.reservedLedgerAccount,
                                   authorization: authorization.id.rawValue), intent: nil)
            try await tx.cards.updateSpendCounters(card.id, try context.counters.adding(added.minor, at: keys))
            hold.amountMinor += added.minor
            authorization.hold = hold
        }
        // An increment asks no review rule and no webhook, so its decision is approved or declined.
        authorization.adjustments.append(AuthorizationAdjustment(
            type: .increment, amountMinor: added.minor, status: decision.status == .approved ? .approved : .declined,
            declineReason: decision.declineReason,
            responseCode: decision.responseCode, policy: decision.json, journalEntry: entry?.id, availableAfterMinor: availableAfter,
            createdAt: tx.now))
        authorization.takeAvailabilityFromAdjustments()
        return try await finish(authorization, event: decision.status == .approved ? .authorizationIncremented : .authorizationIncrementDeclined, in: tx)
    }

    /// The operator settles a review: approve keeps the hold (the authorization is approved), decline
    /// releases it (declined, `review_declined`). A review the network was told was declined ends
    /// declined either way: the network never saw an approval. The decision and note are kept.
    public static func settleReview(_ id: AuthorizationID, _ input: ReviewDecisionInput, operator actor: String, in tx: WriteTransaction) async throws -> Authorization {
        let decision = try Validate.enumValue(input.decision, "decision", as: ReviewOutcome.self)
        let note = try input.note.map { try Validate.text($0, "note", max: 1000) }
        let (stored, context) = try await lock(id, in: tx)
        var authorization = stored.authorization
        guard authorization.status == .review, var review = authorization.review else {
            throw DomainError(.conflict, code: "authorization_not_in_review",
                              message: "Authorization \(authorization.id) is \(authorization.status.rawValue), not in review.")
        }
        review.decision = decision
        review.note = note
        review.decidedBy = actor
        review.decidedAt = tx.now
        authorization.review = review
        let event: EventType
        // A review the network was told was declined stays declined whatever the operator decides:
        // the decision is recorded, but it never becomes an approval the network did not see.
        if decision == .approve, review.networkOutcome == .approve {
            authorization.status = .approved
            authorization.adjustments.append(AuthorizationAdjustment(type: .reviewApproved, amountMinor: authorization.hold?.amountMinor ?? 0,
                                                                     status: .approved, journalEntry: nil, createdAt: tx.now))
            event = .authorizationApproved
        } else {
            let held = authorization.hold?.status == .held ? authorization.hold?.amountMinor ?? 0 : 0
            var entry: JournalEntry?
            if held > 0 { entry = try await release(held, of: &authorization, stored: stored, context: context, why: "review declined", in: tx) }
            authorization.status = .declined
            authorization.declineReason = .reviewDeclined
            authorization.adjustments.append(AuthorizationAdjustment(
                type: decision == .approve ? .reviewApproved : .reviewDeclined, amountMinor: held, status: .declined,
                declineReason: .reviewDeclined, responseCode: DeclineReason.reviewDeclined.responseCode, journalEntry: entry?.id, createdAt: tx.now))
            event = .authorizationDeclined
        }
        return try await finish(authorization, event: event, in: tx)
    }

    /// Releases a hold whose lifetime has passed. Safe to race: the hold is re-read under the card's
    /// and the authorization's row locks, so a second worker finds it released and does nothing.
    public static func expire(_ id: AuthorizationID, in tx: WriteTransaction) async throws -> Authorization? {
        let (stored, context) = try await lock(id, in: tx)
        var authorization = stored.authorization
        guard let hold = authorization.hold, hold.status == .held, hold.expiresAt <= tx.now else { return nil }
        let entry = try await release(hold.amountMinor, of: &authorization, stored: stored, context: context, why: "hold expired", in: tx)
        authorization.status = .expired
        authorization.adjustments.append(AuthorizationAdjustment(type: .expiry, amountMinor: hold.amountMinor, status: .released,
                                                                 journalEntry: entry.id, createdAt: tx.now))
        return try await finish(authorization, event: .authorizationExpired, in: tx)
    }

    // MARK: - Shared steps

    /// Locks the authorization's card (first) and then the authorization.
    static func lock(_ id: AuthorizationID, in tx: WriteTransaction) async throws -> (StoredAuthorization, AuthorizationContext) {
        guard let unlocked = try await tx.authorizations.find(id) else { throw DomainError.resourceMissing("authorization", id: id.rawValue) }
        let context = try await tx.authorizations.lockedContext(unlocked.authorization.card)
        return (try await tx.authorizations.locked(id), context)
    }

    /// Moves `amount` of the hold back to the card's available funds and gives the spend back to the
    /// windows it was counted in.
    static func release(
        _ amount: Int64, of authorization: inout Authorization, stored: StoredAuthorization, context: AuthorizationContext, why: String,
        in tx: WriteTransaction
    ) async throws -> JournalEntry {
        let card = context.card
        let entry = try await tx.ledger.post(
            LedgerRecipes.release(amount: Money(minor: amount, currency: authorization.currency), cardAvailable: card.ledgerAccount,
                                  cardReserved: card.reservedLedgerAccount, authorization: authorization.id.rawValue, why: why),
            intent: nil)
        try await tx.cards.updateSpendCounters(card.id, context.counters.removing(amount, spentIn: stored.windows))
        if var hold = authorization.hold {
            hold.amountMinor -= amount
            if hold.amountMinor == 0 { hold.status = .released }
            authorization.hold = hold
        }
        return entry
    }

    static func finish(_ authorization: Authorization, event: EventType, in tx: WriteTransaction) async throws -> Authorization {
        let finished = finished(authorization, event: event, in: tx)
        try await tx.authorizations.update(finished)
        return finished
    }

    /// The authorization as of now, with its event and audit record queued; the caller writes it.
    static func finished(_ authorization: Authorization, event: EventType, in tx: WriteTransaction) -> Authorization {
        var authorization = authorization
        authorization.updatedAt = tx.now
        tx.emit(event, objectType: .authorization, objectID: authorization.id.rawValue, rendered: authorization.serialized)
        let last = authorization.adjustments.last
        tx.audit(.event(event), objectType: .authorization, objectID: authorization.id.rawValue, context: .object([
            "card": .string(authorization.card.rawValue), "status": .string(authorization.status.rawValue),
            "amount_minor": .int(last?.amountMinor ?? 0),
            "held_minor": .int(authorization.hold?.amountMinor ?? 0),
            "journal_entry": last?.journalEntry.map { .string($0.rawValue) } ?? .null,
        ]))
        return authorization
    }

    /// What the customer's endpoint receives: the request and the rules that already passed. Last4 only.
    static func decisionRequestBody(_ request: AuthorizationRequest, card: CardVersion, decision: PolicyDecision) -> [UInt8] {
        JSONValue.object([
            "type": .string(CustomerDecisionRequest.type),
            "data": .object([
                "card": .string(card.card.rawValue), "last4": .string(card.last4), "amount_minor": .int(request.amount.minor),
                "currency": .string(request.amount.currency.code), "merchant": request.merchant.json,
                "channel": .string(request.channel.rawValue), "network_reference": .string(request.networkReference),
                "policy": .array(decision.rules.map(\.json)),
            ]),
        ]).serialized
    }
}

extension HoldExpiry {
    /// Releases every hold due now, one unit of work each; answers the authorizations this call
    /// expired (a hold another worker released first is not among them).
    public static func releaseDue(store: Store, batch_max: Int) async throws -> [Authorization] {
        var expired: [Authorization] = []
        while true {
            let due = try await due(now: store.clock.now(), limit: batch_max, engine: store.engine)
            var released = 0
            for (tenant, id) in due {
                let scope = WriteScope(tenant: tenant, actor: "system:hold-expiry", requestID: nil)
                if let authorization = try await store.write(scope, { tx in try await AuthorizationService.expire(id, in: tx) }) {
                    expired.append(authorization)
                    released += 1
                }
            }
            if due.count < batch_max || released == 0 { return expired }
        }
    }
}
