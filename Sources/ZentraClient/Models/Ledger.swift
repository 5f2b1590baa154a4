import Foundation

/// One account of the double-entry ledger, with its totals.
public struct LedgerAccount: Identified, Codable, Hashable {
    public let id: String
    public let name: String
    public let kind: String
    public let normalBalance: String?
    public let currency: String
    /// The customer account it belongs to; nil for system accounts.
    public let account: String?
    public let debitsMinor: Int64
    public let creditsMinor: Int64
    public let balanceMinor: Int64

    enum CodingKeys: String, CodingKey {
        case id, name, kind, currency, account
        case normalBalance = "normal_balance"
        case debitsMinor = "debits_minor"
        case creditsMinor = "credits_minor"
        case balanceMinor = "balance_minor"
    }
}

/// One line of a journal entry: a debit or a credit to one ledger account.
public struct LedgerEntry: Identified, Codable, Hashable {
    public let id: String
    public let journalEntry: String
    public let ledgerAccount: String
    public let direction: Direction
    public let amountMinor: Int64
    public let currency: String
    public let createdAt: Date?

    public enum Direction: OpenEnum {
        case debit, credit
        case unknown(String)
        public static let known: [Direction] = [.debit, .credit]
    }

    enum CodingKeys: String, CodingKey {
        case id, direction, currency
        case journalEntry = "journal_entry"
        case ledgerAccount = "ledger_account"
        case amountMinor = "amount_minor"
        case createdAt = "created_at"
    }
}

/// A balanced set of ledger entries written together; never edited.
public struct JournalEntry: Identified, Codable, Hashable {
    public let id: String
    public let description: String?
    public let entries: [LedgerEntry]
    public let intent: String?
    public let createdAt: Date?

    enum CodingKeys: String, CodingKey {
        case id, description, entries, intent
        case createdAt = "created_at"
    }
}
