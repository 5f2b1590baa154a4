import ZentraCore
import ZentraStorage

public struct OpenDisputeInput: Sendable, Decodable {
    public var transaction: Reference<TransactionKind>
    public var reason: String
    public var amountMinor: Int64
    public var evidence: JSONValue?
    public var provisionalCredit: Bool?
}

public struct SubmitDisputeInput: Sendable, Decodable {
    public var evidence: JSONValue?

    public init(evidence: JSONValue?) { self.evidence = evidence }
}

public struct DisputeOutcomeInput: Sendable, Decodable {
    public var outcome: String
    public var note: String?

    public init(outcome: String, note: String?) {
        self.outcome = outcome
        self.note = note
    }
}

public struct WithdrawDisputeInput: Sendable, Decodable {
    public var note: String?
}

/// Disputes on cleared transactions. Every money step is a balanced entry: the provisional credit
/// (Dispute receivable → card funds), its reversal when lost or withdrawn, and the chargeback when
/// won (Settlement → the claim, or → card funds when no provisional credit was given).
/// Lock order: the card (with its ledger rows), the transaction, the dispute, the ledger accounts.
public enum DisputeService {
    static let evidenceBytes_max = 32 * 1024

    public static func open(_ input: OpenDisputeInput, in tx: WriteTransaction) async throws -> Dispute {
        let transactionID = try input.transaction.id("transaction", param: "transaction")
        let reason = try Validate.enumValue(input.reason, "reason", as: DisputeReason.self)
        try MinorUnits.requirePositive(input.amountMinor, param: "amount_minor")
        let evidence = try validEvidence(input.evidence)
        guard let unlocked = try await tx.cardTransactions.find(transactionID) else {
            throw DomainError.resourceMissing("transaction", id: input.transaction.text, param: "transaction")
        }
        let context = try await tx.authorizations.lockedContext(unlocked.card)
        guard var transaction = try await tx.cardTransactions.locked(transactionID) else {
            throw DomainError.resourceMissing("transaction", id: input.transaction.text, param: "transaction")
        }
        let open = transaction.amountMinor - transaction.disputedMinor
        guard input.amountMinor <= open else {
            throw DomainError.parameterInvalid("amount_minor", "\(input.amountMinor) is more than the \(open) of the transaction not already disputed")
        }
        let id: DisputeID = tx.newID()
        let amount = Money(minor: input.amountMinor, currency: transaction.currency)
        var entries: [JournalEntryID] = []
        if input.provisionalCredit == true {
            entries.append(try await tx.ledger.post(LedgerRecipes.provisionalCredit(
                amount: amount, disputeReceivable: try await tx.ledger.systemAccount(.disputeReceivable, currency: amount.currency),
                cardAvailable: context.card.ledgerAccount, dispute: id.rawValue), intent: nil).id)
        }
        transaction.disputedMinor += input.amountMinor
        transaction.updatedAt = tx.now
        try await tx.cardTransactions.update(transaction)
        let dispute = Dispute(
            id: id, transaction: transactionID, card: transaction.card, status: .opened, reason: reason, amountMinor: amount.minor,
            currency: amount.currency, evidence: evidence ?? .object([:]), provisionalCredit: input.provisionalCredit == true,
            journalEntries: entries, history: [Dispute.Step(status: .opened, actor: tx.scope.actor, note: nil, journalEntry: entries.first, at: tx.now)],
            settlement: nil, createdAt: tx.now, updatedAt: tx.now)
        try await tx.disputes.insert(dispute)
        return try record(dispute, event: .disputeOpened, in: tx)
    }

    public static func submit(_ id: DisputeID, _ input: SubmitDisputeInput, in tx: WriteTransaction) async throws -> Dispute {
        let evidence = try validEvidence(input.evidence)
        var (dispute, _) = try await lock(id, in: tx)
        dispute.status = try DisputeTransitions.submit(from: dispute.status)
        if let evidence { dispute.evidence = evidence }
        dispute.history.append(Dispute.Step(status: .submitted, actor: tx.scope.actor, note: nil, journalEntry: nil, at: tx.now))
        return try await save(dispute, event: .disputeSubmitted, in: tx)
    }

    public static func withdraw(_ id: DisputeID, _ input: WithdrawDisputeInput, in tx: WriteTransaction) async throws -> Dispute {
        let note = try input.note.map { try Validate.text($0, "note", max: 2000) }
        var (dispute, context) = try await lock(id, in: tx)
        dispute.status = try DisputeTransitions.withdraw(from: dispute.status)
        let entry = try await reverseProvisionalCredit(dispute, context: context, in: tx)
        guard var transaction = try await tx.cardTransactions.locked(dispute.transaction) else {
            throw DomainError.invariantViolated("dispute \(dispute.id) names a missing transaction")
        }
        transaction.disputedMinor -= dispute.amountMinor
        transaction.updatedAt = tx.now
        try await tx.cardTransactions.update(transaction)
        dispute.history.append(Dispute.Step(status: .withdrawn, actor: tx.scope.actor, note: note, journalEntry: entry, at: tx.now))
        return try await save(dispute, event: .disputeWithdrawn, in: tx)
    }

    /// The network's outcome, entered by an operator.
    public static func resolve(_ id: DisputeID, _ input: DisputeOutcomeInput, in tx: WriteTransaction) async throws -> Dispute {
        let outcome = try Validate.enumValue(input.outcome, "outcome", as: DisputeOutcome.self)
        let note = try input.note.map { try Validate.text($0, "note", max: 2000) }
        var (dispute, context) = try await lock(id, in: tx)
        dispute.status = try DisputeTransitions.resolve(from: dispute.status, outcome)
        var entry: JournalEntryID?
        switch outcome {
        case .won:
            let amount = Money(minor: dispute.amountMinor, currency: dispute.currency)
            let creditTo = dispute.provisionalCredit
                ? try await tx.ledger.systemAccount(.disputeReceivable, currency: dispute.currency) : context.card.ledgerAccount
            entry = try await tx.ledger.post(LedgerRecipes.chargeback(
                amount: amount, settlement: try await tx.ledger.systemAccount(.settlement, currency: dispute.currency), creditTo: creditTo,
                dispute: dispute.id.rawValue), intent: nil).id
        case .lost:
            entry = try await reverseProvisionalCredit(dispute, context: context, in: tx)
        }
        dispute.history.append(Dispute.Step(status: dispute.status, actor: tx.scope.actor, note: note, journalEntry: entry, at: tx.now))
        return try await save(dispute, event: .dispute(outcome), in: tx)
    }

    // MARK: - Shared steps

    /// Takes a provisional credit back from the card's funds as far as they go; the rest is owed
    /// by the cardholder. Nothing when no credit was given.
    static func reverseProvisionalCredit(_ dispute: Dispute, context: AuthorizationContext, in tx: WriteTransaction) async throws -> JournalEntryID? {
        guard dispute.provisionalCredit else { return nil }
        let amount = Money(minor: dispute.amountMinor, currency: dispute.currency)
        return try await tx.ledger.post(LedgerRecipes.provisionalCreditReversal(
            amount: amount, fromFundsMinor: min(amount.minor, context.card.availableMinor),
            disputeReceivable: try await tx.ledger.systemAccount(.disputeReceivable, currency: amount.currency),
            cardAvailable: context.card.ledgerAccount,
            cardholderReceivable: try await tx.ledger.systemAccount(.cardholderReceivable, currency: amount.currency),
            dispute: dispute.id.rawValue), intent: nil).id
    }

    /// Locks the dispute's card first (the one lock order), then the dispute.
    static func lock(_ id: DisputeID, in tx: WriteTransaction) async throws -> (Dispute, AuthorizationContext) {
        guard let unlocked = try await tx.disputes.find(id) else { throw DomainError.resourceMissing("dispute", id: id.rawValue) }
        let context = try await tx.authorizations.lockedContext(unlocked.card)
        guard let dispute = try await tx.disputes.locked(id) else { throw DomainError.resourceMissing("dispute", id: id.rawValue) }
        return (dispute, context)
    }

    static func save(_ dispute: Dispute, event: EventType, in tx: WriteTransaction) async throws -> Dispute {
        var dispute = dispute
        if let entry = dispute.history.last?.journalEntry, !dispute.journalEntries.contains(entry) { dispute.journalEntries.append(entry) }
        dispute.updatedAt = tx.now
        try await tx.disputes.update(dispute)
        return try record(dispute, event: event, in: tx)
    }

    static func record(_ dispute: Dispute, event: EventType, in tx: WriteTransaction) throws -> Dispute {
        try tx.emit(event, objectType: .dispute, objectID: dispute.id.rawValue, data: dispute)
        tx.audit(.event(event), objectType: .dispute, objectID: dispute.id.rawValue, context: .object([
            "transaction": .string(dispute.transaction.rawValue), "status": .string(dispute.status.rawValue),
            "amount_minor": .int(dispute.amountMinor), "provisional_credit": .bool(dispute.provisionalCredit),
            "journal_entry": dispute.history.last?.journalEntry.map { .string($0.rawValue) } ?? .null,
        ]))
        return dispute
    }

    /// Evidence is the cardholder's and the operator's own JSON object (texts, file references),
    /// kept as sent within a size bound.
    static func validEvidence(_ evidence: JSONValue?) throws -> JSONValue? {
        guard let evidence else { return nil }
        guard case .object = evidence else { throw DomainError.parameterInvalid("evidence", "must be a JSON object") }
        guard evidence.serialized.count <= evidenceBytes_max else {
            throw DomainError.parameterInvalid("evidence", "must be at most \(evidenceBytes_max) bytes of JSON")
        }
        return evidence
    }
}
