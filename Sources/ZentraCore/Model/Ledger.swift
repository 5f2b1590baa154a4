/// A ledger account as listed by `GET /ledger/accounts`.
public struct LedgerAccount: Sendable, Hashable, Codable {
    public let id: LedgerAccountID
    public let object: String
    public let name: String
    public let kind: LedgerAccountPurpose
    public let normalBalance: NormalBalance
    public let currency: Currency
    /// The customer account it belongs to; `nil` for system accounts.
    public let account: AccountID?
    public let debitsMinor: Int64
    public let creditsMinor: Int64
    public let balanceMinor: Int64

    public init(
        id: LedgerAccountID, name: String, kind: LedgerAccountPurpose, currency: Currency,
        account: AccountID?, debitsMinor: Int64, creditsMinor: Int64
    ) throws(DomainError) {
        self.id = id
        self.object = ObjectType.ledgerAccount.rawValue
        self.name = name
        self.kind = kind
        self.normalBalance = kind.normalBalance
        self.currency = currency
        self.account = account
        self.debitsMinor = debitsMinor
        self.creditsMinor = creditsMinor
        self.balanceMinor = try kind.normalBalance.balance(debits: debitsMinor, credits: creditsMinor)
    }
}

/// One immutable line of the ledger.
public struct LedgerEntry: Sendable, Hashable, Codable {
    public let id: LedgerEntryID
    public let object: String
    public let journalEntry: JournalEntryID
    public let ledgerAccount: LedgerAccountID
    public let direction: EntryDirection
    public let amountMinor: Int64
    public let currency: Currency
    public let createdAt: Timestamp

    public init(
        id: LedgerEntryID, journalEntry: JournalEntryID, ledgerAccount: LedgerAccountID,
        direction: EntryDirection, amountMinor: Int64, currency: Currency, createdAt: Timestamp
    ) {
        self.id = id
        self.object = ObjectType.ledgerEntry.rawValue
        self.journalEntry = journalEntry
        self.ledgerAccount = ledgerAccount
        self.direction = direction
        self.amountMinor = amountMinor
        self.currency = currency
        self.createdAt = createdAt
    }
}

/// A balanced, immutable journal entry with its lines.
public struct JournalEntry: Sendable, Hashable, Codable {
    public let id: JournalEntryID
    public let object: String
    public let description: String
    public let entries: [LedgerEntry]
    public let intent: IntentID?
    public let createdAt: Timestamp

    public init(id: JournalEntryID, description: String, entries: [LedgerEntry], intent: IntentID?, createdAt: Timestamp) {
        self.id = id
        self.object = ObjectType.journalEntry.rawValue
        self.description = description
        self.entries = entries
        self.intent = intent
        self.createdAt = createdAt
    }
}
