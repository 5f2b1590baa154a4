import ZentraCore
import ZentraStorage

public struct CreateAccount: Sendable, Decodable {
    public var customer: Reference<CustomerKind>
    public var currency: String
    public var kind: String?

    public init(customer: Reference<CustomerKind>, currency: String, kind: String? = nil) {
        self.customer = customer
        self.currency = currency
        self.kind = kind
    }
}

public struct CreateDeposit: Sendable, Decodable {
    public var amountMinor: Int64
    public var transactionReference: String

    public init(amountMinor: Int64, transactionReference: String) {
        self.amountMinor = amountMinor
        self.transactionReference = transactionReference
    }
}

/// Accounts and the money that enters them.
public enum AccountService {
    public static func create(_ input: CreateAccount, spec: IntentSpec = IntentSpec(), in tx: WriteTransaction) async throws -> Account {
        let customerID = try input.customer.id("customer", param: "customer")
        let currency = try Validate.currency(input.currency)
        let kind = try input.kind.map { try Validate.enumValue($0, "kind", as: AccountType.self) } ?? .wallet
        var intent = IntentTracker(tx, type: .accountCreate, spec: spec, detail: "open a \(kind.rawValue) account in \(currency.code)")
        _ = try await tx.customers.locked(customerID, param: "customer")
        try intent.advance(.validated, "customer exists; \(currency.code) has \(currency.exponent) decimals")
        let account = try await tx.accounts.insert(id: tx.newID(), customer: customerID, currency: currency, kind: kind)
        try intent.advance(.ledgerPosted, "ledger accounts \(account.ledgerAccounts.available) and \(account.ledgerAccounts.reserved) opened; no money moved")
        let event = try tx.emit(.accountCreated, objectType: .account, objectID: account.id.rawValue, data: account)
        try intent.advance(.eventsEmitted, EventType.accountCreated.rawValue, events: [event])
        let audit = tx.audit(.event(.accountCreated), objectType: .account, objectID: account.id.rawValue, context: .object([
            "customer": .string(customerID.rawValue), "currency": .string(currency.code), "kind": .string(kind.rawValue),
            "intent": .string(intent.id.rawValue),
        ]))
        try intent.advance(.audited, "\(EventType.accountCreated.rawValue) recorded", auditRecords: [audit])
        _ = try intent.complete(subject: account.id.rawValue)
        return account
    }

    /// Brings outside money in. `transaction_reference` names the deposit: the same reference with
    /// the same account and amount answers the deposit it made; with anything else it is a conflict.
    public static func deposit(
        into accountID: AccountID, _ input: CreateDeposit, spec: IntentSpec = IntentSpec(), in tx: WriteTransaction
    ) async throws -> ReferencedOutcome<Deposit> {
        try MinorUnits.requirePositive(input.amountMinor, param: "amount_minor")
        let reference = try Validate.text(input.transactionReference, "transaction_reference")
        let account = try await tx.accounts.require(accountID)

        if let existing = try await tx.accounts.deposit(reference: reference) {
            guard existing.account == accountID, existing.amountMinor == input.amountMinor else {
                throw DomainError.transactionReferenceConflict(reference)
            }
            return .existing(existing)
        }

        var intent = IntentTracker(tx, type: .accountDeposit, spec: spec, detail: "deposit \(input.amountMinor) \(account.currency) into \(accountID)")
        try intent.advance(.validated, "account exists, amount positive, reference \(reference) unused")
        let amount = Money(minor: input.amountMinor, currency: account.currency)
        // The resulting balance must stay representable; checked before anything is written.
        _ = try MinorUnits.add(account.postedMinor, amount.minor)
        try intent.advance(.policyEvaluated, "deposit policy: positive amount in the account's currency")

        let funding = try await tx.ledger.systemAccount(.funding, currency: account.currency)
        let entry = try await tx.ledger.post(
            LedgerRecipes.deposit(amount: amount, funding: funding, customerAvailable: account.ledgerAccounts.available,
                                  reference: reference),
            intent: intent.id)
        try intent.advance(.ledgerPosted, "debit funding, credit \(accountID) available", journalEntries: [entry.id])

        let deposit = Deposit(id: tx.newID(), account: accountID, amountMinor: amount.minor, currency: amount.currency,
                              transactionReference: reference, journalEntry: entry.id, intent: intent.id, createdAt: tx.now)
        try await tx.accounts.insertDeposit(deposit)
        let event = try tx.emit(.depositCreated, objectType: .deposit, objectID: deposit.id.rawValue, data: deposit)
        try intent.advance(.eventsEmitted, EventType.depositCreated.rawValue, events: [event])
        let audit = tx.audit(.accountDeposit, objectType: .account, objectID: accountID.rawValue, context: .object([
            "deposit": .string(deposit.id.rawValue), "amount_minor": .int(amount.minor), "currency": .string(amount.currency.code),
            "transaction_reference": .string(reference), "journal_entry": .string(entry.id.rawValue),
            "intent": .string(intent.id.rawValue),
        ]))
        try intent.advance(.audited, "\(AuditAction.accountDeposit.rawValue) recorded", auditRecords: [audit])
        _ = try intent.complete(subject: deposit.id.rawValue)
        return .created(deposit)
    }
}
