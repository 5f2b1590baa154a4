import ZentraCore
import ZentraStorage

public struct FundCard: Sendable, Decodable {
    public var amountMinor: Int64
    public var source: String?
    public var transactionReference: String?
    /// Deprecated name of `transaction_reference`, still accepted.
    public var reference: String?
}

/// Funding moves money from the customer's wallet (the card's account) to the card, through the
/// ledger. The wallet's balance is read under its row lock, so concurrent fundings can never spend
/// the same money twice nor overdraw it.
public enum CardFundingService {
    public static func fund(_ id: CardID, _ input: FundCard, in tx: WriteTransaction) async throws -> ReferencedOutcome<CardFunding> {
        try MinorUnits.requirePositive(input.amountMinor, param: "amount_minor")
        guard (input.source ?? "wallet") == "wallet" else { throw DomainError.parameterInvalid("source", "must be wallet") }
        if let given = input.transactionReference, let legacy = input.reference, given != legacy {
            throw DomainError.parameterInvalid("reference", "differs from transaction_reference; send only transaction_reference")
        }
        guard let rawReference = input.transactionReference ?? input.reference else {
            throw DomainError.parameterMissing("transaction_reference")
        }
        let reference = try Validate.text(rawReference, "transaction_reference")

        let card = try await tx.cards.locked(id)
        if let existing = try await tx.cards.funding(reference: reference) {
            guard existing.card == id, existing.amountMinor == input.amountMinor else {
                throw DomainError.transactionReferenceConflict(reference)
            }
            return .existing(existing)
        }
        _ = try CardLifecycle.next(from: card.status, .updateSecurity)

        var intent = IntentTracker(tx, type: .cardFund, spec: IntentSpec(), detail: "fund \(id) with \(input.amountMinor) \(card.currency)")
        let wallet = try await tx.accounts.require(card.account, param: "source")
        let available = try await tx.ledger.lockedBalance(wallet.ledgerAccounts.available)
        try intent.advance(.validated, "card open, reference \(reference) unused")
        guard available >= input.amountMinor else {
            throw DomainError.insufficientFunds(available: available, requested: input.amountMinor)
        }
        try intent.advance(.policyEvaluated, "wallet \(wallet.id) holds \(available), \(input.amountMinor) requested")

        let amount = Money(minor: input.amountMinor, currency: card.currency)
        let entry = try await tx.ledger.post(
            LedgerRecipes.cardFunding(amount: amount, walletAvailable: wallet.ledgerAccounts.available,
                                      cardAvailable: card.ledgerAccount, reference: reference),
            intent: intent.id)
        try intent.advance(.ledgerPosted, "debit \(wallet.id) available, credit \(id) available", journalEntries: [entry.id])
        let funding = CardFunding(id: tx.newID(), card: id, account: wallet.id, amountMinor: amount.minor, currency: amount.currency,
                                  transactionReference: reference, journalEntry: entry.id, intent: intent.id, createdAt: tx.now)
        try await tx.cards.insertFunding(funding)
        let event = try tx.emit(.cardFunded, objectType: .cardFunding, objectID: funding.id.rawValue, data: funding)
        try intent.advance(.eventsEmitted, EventType.cardFunded.rawValue, events: [event])
        let audit = tx.audit(.event(.cardFunded), objectType: .card, objectID: id.rawValue, context: .object([
            "funding": .string(funding.id.rawValue), "amount_minor": .int(amount.minor), "currency": .string(amount.currency.code),
            "transaction_reference": .string(reference), "legacy_reference_field": .bool(input.transactionReference == nil),
            "journal_entry": .string(entry.id.rawValue), "intent": .string(intent.id.rawValue),
        ]))
        try intent.advance(.audited, "\(EventType.cardFunded.rawValue) recorded", auditRecords: [audit])
        _ = try intent.complete(subject: funding.id.rawValue)
        return .created(funding)
    }
}
