public enum AccountType: String, Sendable, Codable, Hashable, CaseIterable {
    case wallet
    case operating
}

/// A customer's money in one ledger currency. Its balances are read off its two ledger accounts:
/// `available` (spendable) and `reserved` (held by authorizations); `posted` is their sum.
public struct Account: Sendable, Hashable, Codable {
    public let id: AccountID
    public let object: String
    public let customer: CustomerID
    public let currency: Currency
    public let kind: AccountType
    public let availableMinor: Int64
    public let reservedMinor: Int64
    public let postedMinor: Int64
    public let ledgerAccounts: LedgerAccounts
    public let createdAt: Timestamp

    public struct LedgerAccounts: Sendable, Hashable, Codable {
        public let available: LedgerAccountID
        public let reserved: LedgerAccountID

        public init(available: LedgerAccountID, reserved: LedgerAccountID) {
            self.available = available
            self.reserved = reserved
        }
    }

    public init(
        id: AccountID, customer: CustomerID, currency: Currency, kind: AccountType,
        availableMinor: Int64, reservedMinor: Int64, ledgerAccounts: LedgerAccounts, createdAt: Timestamp
    ) throws(DomainError) {
        self.id = id
        self.object = ObjectType.account.rawValue
        self.customer = customer
        self.currency = currency
        self.kind = kind
        self.availableMinor = availableMinor
        self.reservedMinor = reservedMinor
        self.postedMinor = try MinorUnits.add(availableMinor, reservedMinor)
        self.ledgerAccounts = ledgerAccounts
        self.createdAt = createdAt
    }
}

/// Outside money brought into an account; keyed by the client's `transaction_reference`.
public struct Deposit: Sendable, Hashable, Codable {
    public let id: TransactionID
    public let object: String
    public let account: AccountID
    public let amountMinor: Int64
    public let currency: Currency
    public let transactionReference: String
    public let journalEntry: JournalEntryID
    public let intent: IntentID
    public let createdAt: Timestamp

    public init(
        id: TransactionID, account: AccountID, amountMinor: Int64, currency: Currency,
        transactionReference: String, journalEntry: JournalEntryID, intent: IntentID, createdAt: Timestamp
    ) {
        self.id = id
        self.object = ObjectType.deposit.rawValue
        self.account = account
        self.amountMinor = amountMinor
        self.currency = currency
        self.transactionReference = transactionReference
        self.journalEntry = journalEntry
        self.intent = intent
        self.createdAt = createdAt
    }
}
