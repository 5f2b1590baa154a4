import ZentraCore
import ZentraStorage

public struct ClearingInput: Sendable, Decodable {
    public var clearingId: String
    public var authorization: String?
    public var networkReference: String?
    public var card: String
    public var amountMinor: Int64
    public var currency: String
    public var merchant: Merchant

    public init(clearingId: String, authorization: String?, networkReference: String?, card: String, amountMinor: Int64, currency: String,
                merchant: Merchant) {
        self.clearingId = clearingId
        self.authorization = authorization
        self.networkReference = networkReference
        self.card = card
        self.amountMinor = amountMinor
        self.currency = currency
        self.merchant = merchant
    }
}

/// A clearing record, checked: from `POST /clearings` or one line of a clearing file.
public struct ClearingRequest: Sendable {
    public let clearingID: String
    public let authorization: AuthorizationID?
    public let networkReference: String?
    public let card: CardID
    public let amount: Money
    public let merchant: Merchant
    public let fileID: String?
    public let fileLine: Int64?

    public init(_ input: ClearingInput, fileID: String? = nil, fileLine: Int64? = nil) throws {
        clearingID = try Validate.text(input.clearingId, "clearing_id", max: 128)
        authorization = try input.authorization.flatMap { $0.isEmpty ? nil : try Validate.id($0, "authorization", "authorization") }
        networkReference = try input.networkReference.flatMap { $0.isEmpty ? nil : try Validate.text($0, "network_reference", max: 128) }
        card = try Validate.id(input.card, "card", "card")
        try MinorUnits.requirePositive(input.amountMinor, param: "amount_minor")
        amount = Money(minor: input.amountMinor, currency: try Validate.currency(input.currency))
        merchant = try input.merchant.validated()
        self.fileID = fileID
        self.fileLine = fileLine
    }
}

/// Clearing: matches a network record to its authorization and posts what the network moved.
/// Lock order as for authorizations: the card's row and ledger rows, then the authorization, then
/// the transaction, then (through `post`) the ledger accounts in id order, then the tenant head.
public enum ClearingService {
    public static func clear(_ request: ClearingRequest, in tx: WriteTransaction) async throws -> ReferencedOutcome<Clearing> {
        let context = try await tx.lockedAuthorizationContext(request.card)
        if let first = try await tx.clearing(networkKey: request.clearingID) {
            guard first.card == request.card, first.amountMinor == request.amount.minor, first.currency == request.amount.currency else {
                throw DomainError(.unprocessable, code: "clearing_id_reused", message:
                    "clearing_id \(request.clearingID) was used for another record (\(first.id)): same card, amount and currency expected.",
                    param: "clearing_id")
            }
            return .existing(first)
        }
        let card = context.card
        guard request.amount.currency == card.currency else {
            throw DomainError.currencyMismatch(expected: card.currency.code, got: request.amount.currency.code)
        }

        let (method, stored) = try await match(request, in: tx)
        var authorization = stored?.authorization
        let held = authorization?.hold.flatMap { $0.status == .held ? $0.amountMinor : nil } ?? 0
        let plan = try ClearingPlan(heldMinor: held, clearedMinor: request.amount.minor, availableMinor: card.availableMinor)

        let id: ClearingID = tx.newID()
        let entry = try await tx.post(LedgerRecipes.clearing(
            plan, currency: request.amount.currency, cardAvailable: card.ledgerAccount, cardReserved: card.reservedLedgerAccount,
            settlement: try await tx.systemLedgerAccount(.settlement, currency: card.currency),
            receivable: try await tx.systemLedgerAccount(.cardholderReceivable, currency: card.currency), clearing: id.rawValue), intent: nil)

        // The spend windows keep counting what was cleared: a released remainder is given back to
        // the windows the hold counted in, an over-clear is counted now.
        var counters = context.counters
        if plan.releasedMinor > 0, let stored { counters = counters.removing(plan.releasedMinor, spentIn: stored.windows) }
        if plan.addedSpendMinor > 0 {
            let keys = WindowKeys(at: tx.now, utcOffset_seconds: TimeZones.utcOffset_seconds(context.timeZone, at: tx.now))
            counters = try counters.adding(plan.addedSpendMinor, at: keys)
        }
        if counters != context.counters { try await tx.updateSpendCounters(card.id, counters) }

        if var closed = authorization {
            if var hold = closed.hold, hold.status == .held {
                hold.amountMinor = 0
                hold.status = .cleared
                closed.hold = hold
                closed.status = .cleared
            }
            closed.adjustments.append(AuthorizationAdjustment(type: .clearing, amountMinor: request.amount.minor, status: "cleared",
                                                              journalEntry: entry.id, createdAt: tx.now))
            authorization = try await AuthorizationService.finish(closed, event: "authorization.cleared", in: tx)
        }

        let transaction = try await recordTransaction(request, card: card, authorization: authorization?.id, in: tx)
        let status: ClearingStatus = authorization == nil ? .unmatched : (plan.deltaMinor == 0 ? .matched : .mismatched)
        let caseID: ReconciliationCaseID? = status == .matched ? nil : tx.newID()
        let clearing = Clearing(
            id: id, clearingId: request.clearingID, status: status, matchMethod: method, authorization: authorization?.id,
            networkReference: request.networkReference, card: card.id, amountMinor: request.amount.minor, currency: request.amount.currency,
            authorizedMinor: held, deltaMinor: plan.deltaMinor, merchant: request.merchant, transaction: transaction,
            journalEntry: entry.id, plan: Clearing.Plan(plan), reconciliationCase: caseID, fileId: request.fileID,
            fileLine: request.fileLine, settlement: nil, createdAt: tx.now)
        let rendered = clearing.json.serialized
        try await tx.insertClearing(clearing, json: String(decoding: rendered, as: UTF8.self))
        tx.emit("clearing.\(status.rawValue)", objectType: "clearing", objectID: id.rawValue, rendered: rendered)
        tx.audit("clearing.posted", objectType: "clearing", objectID: id.rawValue, context: .object([
            "clearing_id": .string(request.clearingID), "status": .string(status.rawValue), "match_method": .string(method.rawValue),
            "authorization": authorization.map { .string($0.id.rawValue) } ?? .null, "amount_minor": .int(request.amount.minor),
            "delta_minor": .int(plan.deltaMinor), "journal_entry": .string(entry.id.rawValue),
            "file_id": request.fileID.map { .string($0) } ?? .null, "file_line": request.fileLine.map { .int($0) } ?? .null,
        ]))

        if let caseID {
            let opened = ReconciliationCase(
                id: caseID, kind: status == .unmatched ? .unmatched : .amountMismatch, status: .open, clearing: id,
                authorization: authorization?.id, transaction: transaction, card: card.id, amountMinor: request.amount.minor,
                authorizedMinor: held, deltaMinor: plan.deltaMinor, currency: request.amount.currency, ledgerEntries: authorization?.journalEntries ?? [entry.id],
                owner: nil, resolution: nil, note: nil, resolvedBy: nil, resolvedAt: nil, createdAt: tx.now, updatedAt: tx.now)
            let renderedCase = opened.json.serialized
            try await tx.insertReconciliationCase(opened, json: String(decoding: renderedCase, as: UTF8.self))
            tx.emit("reconciliation.opened", objectType: "reconciliation_case", objectID: caseID.rawValue, rendered: renderedCase)
            tx.audit("reconciliation.opened", objectType: "reconciliation_case", objectID: caseID.rawValue, context: .object([
                "clearing": .string(id.rawValue), "kind": .string(opened.kind.rawValue), "delta_minor": .int(plan.deltaMinor),
            ]))
        }
        return .created(clearing)
    }

    /// The matching rules in order: the authorization id, else the network reference, else the
    /// card's open hold closest in amount (`ClearingMatching`). An id or reference that names an
    /// authorization of another card is refused rather than guessed around. The card is locked
    /// already, so the authorization found is locked at once (one lock order).
    static func match(_ request: ClearingRequest, in tx: WriteTransaction) async throws -> (ClearingMatchMethod, StoredAuthorization?) {
        if let id = request.authorization {
            guard let found = try await tx.authorizationForUpdate(id) else {
                throw DomainError.resourceMissing("authorization", id: id.rawValue, param: "authorization")
            }
            try requireSameCard(found.authorization, request, param: "authorization")
            return (.authorization, found)
        }
        if let reference = request.networkReference, let found = try await tx.authorizationForUpdate(networkReference: reference) {
            try requireSameCard(found.authorization, request, param: "network_reference")
            return (.networkReference, found)
        }
        let candidates = try await tx.heldAuthorizations(
            card: request.card, currency: request.amount.currency, since: tx.now.adding(seconds: -ClearingMatching.window_days * 86_400))
        if let id = ClearingMatching.best(candidates, clearedMinor: request.amount.minor, now: tx.now) {
            return (.cardAmount, try await tx.lockedAuthorization(id))
        }
        return (.none, nil)
    }

    static func requireSameCard(_ authorization: Authorization, _ request: ClearingRequest, param: String) throws {
        guard authorization.card == request.card else {
            throw DomainError.parameterInvalid(param, "authorization \(authorization.id) is on another card than \(request.card)")
        }
    }

    /// The cleared purchase: every clearing of one authorization adds to its transaction; an
    /// unmatched record is a transaction of its own.
    static func recordTransaction(_ request: ClearingRequest, card: Card, authorization: AuthorizationID?, in tx: WriteTransaction) async throws -> TransactionID {
        if let authorization, var existing = try await tx.lockedTransaction(authorization: authorization) {
            existing.amountMinor = try MinorUnits.add(existing.amountMinor, request.amount.minor)
            existing.updatedAt = tx.now
            try await tx.updateTransaction(existing)
            return existing.id
        }
        let transaction = CardTransaction(
            id: tx.newID(), card: card.id, authorization: authorization, amountMinor: request.amount.minor, currency: request.amount.currency,
            merchant: request.merchant, disputedMinor: 0, createdAt: tx.now, updatedAt: tx.now)
        try await tx.insertTransaction(transaction)
        return transaction.id
    }
}
