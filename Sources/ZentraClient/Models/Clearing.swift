import Foundation

/// A clearing record: what the network says moved, matched to its authorization.
public struct Clearing: Identified, Codable, Hashable {
    public let id: String
    public let clearingID: String
    public let status: Status
    public let matchMethod: String?
    public let authorization: String?
    public let networkReference: String?
    public let card: String
    public let amountMinor: Int64
    public let currency: String
    /// What the authorization held when the record arrived (0 when unmatched).
    public let authorizedMinor: Int64?
    /// `amountMinor - authorizedMinor`; positive for an over-clear.
    public let deltaMinor: Int64?
    public let merchant: Merchant?
    /// The `txn_` it posted.
    public let transaction: String?
    public let journalEntry: String?
    public let reconciliationCase: String?
    public let fileID: String?
    public let fileLine: Int?
    public let settlement: String?
    public let createdAt: Date?

    public enum Status: OpenEnum {
        case matched, mismatched, unmatched
        case unknown(String)
        public static let known: [Status] = [.matched, .mismatched, .unmatched]
    }

    enum CodingKeys: String, CodingKey {
        case id, status, authorization, card, currency, merchant, transaction, settlement
        case clearingID = "clearing_id"
        case matchMethod = "match_method"
        case networkReference = "network_reference"
        case amountMinor = "amount_minor"
        case authorizedMinor = "authorized_minor"
        case deltaMinor = "delta_minor"
        case journalEntry = "journal_entry"
        case reconciliationCase = "reconciliation_case"
        case fileID = "file_id"
        case fileLine = "file_line"
        case createdAt = "created_at"
    }
}

/// One run of a clearing file: counts, and the result of each line when asked for.
public struct ClearingFile: Codable, Hashable, Sendable {
    public let fileID: String
    public let status: String?
    public let runs: Int?
    public let sha256: String?
    /// The same bytes as the run before.
    public let replayed: Bool?
    public let records: Int?
    public let counts: Counts?
    public let lines: [Line]?
    public let startedAt: Date?
    public let completedAt: Date?

    public struct Counts: Codable, Hashable, Sendable {
        public let matched: Int
        public let mismatched: Int
        public let unmatched: Int
        public let duplicates: Int
        public let failed: Int
    }

    public struct Line: Codable, Hashable, Sendable {
        public let line: Int
        public let clearingID: String?
        /// `matched`, `mismatched`, `unmatched`, `duplicate` or `failed`.
        public let result: String
        public let clearing: String?
        public let reconciliationCase: String?
        public let code: String?
        public let reason: String?

        enum CodingKeys: String, CodingKey {
            case line, result, clearing, code, reason
            case clearingID = "clearing_id"
            case reconciliationCase = "reconciliation_case"
        }
    }

    /// Which line results a run answers.
    public enum Lines: String, Sendable {
        case all, exceptions, none
    }

    enum CodingKeys: String, CodingKey {
        case status, runs, sha256, replayed, records, counts, lines
        case fileID = "file_id"
        case startedAt = "started_at"
        case completedAt = "completed_at"
    }
}

/// A difference between what was authorized and what cleared, for an operator to settle.
public struct ReconciliationCase: Identified, Codable, Hashable {
    public let id: String
    public let kind: String?
    public let status: Status
    public let clearing: String
    public let authorization: String?
    public let transaction: String?
    public let card: String?
    public let amountMinor: Int64?
    public let authorizedMinor: Int64?
    public let deltaMinor: Int64
    public let currency: String
    public let ledgerEntries: [String]?
    public let owner: String?
    public let resolution: Resolution?
    public let note: String?
    public let resolvedBy: String?
    public let resolvedAt: Date?
    public let createdAt: Date?
    public let updatedAt: Date?

    public enum Status: OpenEnum {
        case open, assigned, resolved
        case unknown(String)
        public static let known: [Status] = [.open, .assigned, .resolved]
    }

    public enum Resolution: OpenEnum {
        case accepted, writtenOff, disputed, other
        case unknown(String)
        public static let known: [Resolution] = [.accepted, .writtenOff, .disputed, .other]
    }

    enum CodingKeys: String, CodingKey {
        case id, kind, status, clearing, authorization, transaction, card, currency, owner, resolution, note
        case amountMinor = "amount_minor"
        case authorizedMinor = "authorized_minor"
        case deltaMinor = "delta_minor"
        case ledgerEntries = "ledger_entries"
        case resolvedBy = "resolved_by"
        case resolvedAt = "resolved_at"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

/// A closed settlement batch: cleared money moved to the merchant side, the payout closed.
public struct Settlement: Identified, Codable, Hashable {
    public let id: String
    public let currency: String
    public let status: String
    public let clearingsMinor: Int64
    public let chargebacksMinor: Int64
    public let netMinor: Int64
    public let clearingCount: Int?
    public let disputeCount: Int?
    public let journalEntry: String?
    /// `Settlements.get` only: what the batch covered.
    public let clearings: [Clearing]?
    public let disputes: [Dispute]?
    public let createdAt: Date?

    enum CodingKeys: String, CodingKey {
        case id, currency, status, clearings, disputes
        case clearingsMinor = "clearings_minor"
        case chargebacksMinor = "chargebacks_minor"
        case netMinor = "net_minor"
        case clearingCount = "clearing_count"
        case disputeCount = "dispute_count"
        case journalEntry = "journal_entry"
        case createdAt = "created_at"
    }
}

/// A cleared purchase.
public struct Transaction: Identified, Codable, Hashable {
    public let id: String
    public let card: String
    public let authorization: String?
    public let amountMinor: Int64
    public let currency: String
    public let merchant: Merchant?
    public let disputedMinor: Int64?
    /// `Transactions.get` only.
    public let clearings: [Clearing]?
    public let disputes: [Dispute]?
    public let journalEntries: [JournalEntry]?
    public let createdAt: Date?
    public let updatedAt: Date?

    enum CodingKeys: String, CodingKey {
        case id, card, authorization, currency, merchant, clearings, disputes
        case amountMinor = "amount_minor"
        case disputedMinor = "disputed_minor"
        case journalEntries = "journal_entries"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

/// A cardholder's dispute of a cleared transaction.
public struct Dispute: Identified, Codable, Hashable {
    public let id: String
    public let transaction: String
    public let card: String?
    public let status: Status
    public let reason: Reason
    public let amountMinor: Int64
    public let currency: String
    public let evidence: JSONValue?
    public let provisionalCredit: Bool?
    public let journalEntries: [String]?
    public let history: [JSONValue]?
    public let settlement: String?
    public let createdAt: Date?
    public let updatedAt: Date?

    public enum Status: OpenEnum {
        case opened, submitted, won, lost, withdrawn
        case unknown(String)
        public static let known: [Status] = [.opened, .submitted, .won, .lost, .withdrawn]
    }

    public enum Reason: OpenEnum {
        case canceled, duplicate, fraudulent, merchandiseNotAsDescribed, notReceived, serviceNotAsDescribed, other
        case unknown(String)
        public static let known: [Reason] = [.canceled, .duplicate, .fraudulent, .merchandiseNotAsDescribed, .notReceived,
                                             .serviceNotAsDescribed, .other]
    }

    public enum Outcome: OpenEnum {
        case won, lost
        case unknown(String)
        public static let known: [Outcome] = [.won, .lost]
    }

    enum CodingKeys: String, CodingKey {
        case id, transaction, card, status, reason, currency, evidence, history, settlement
        case amountMinor = "amount_minor"
        case provisionalCredit = "provisional_credit"
        case journalEntries = "journal_entries"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}
