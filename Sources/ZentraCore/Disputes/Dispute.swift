public enum DisputeKind: IdentifierKind { public static let prefix = "dsp_" }
public typealias DisputeID = ID<DisputeKind>

/// `opened` → `submitted` → `won` | `lost`, or `withdrawn` before an outcome.
public enum DisputeStatus: String, Sendable, Codable, Hashable, CaseIterable {
    case opened
    case submitted
    case won
    case lost
    case withdrawn

    /// Whether the dispute still counts against what is left to dispute on its transaction.
    public var claimsAmount: Bool { self != .withdrawn }
    public var isFinal: Bool { self == .won || self == .lost || self == .withdrawn }
}

/// Why the cardholder disputes (Stripe Issuing's reasons).
public enum DisputeReason: String, Sendable, Codable, Hashable, CaseIterable {
    case canceled
    case duplicate
    case fraudulent
    case merchandiseNotAsDescribed = "merchandise_not_as_described"
    case notReceived = "not_received"
    case serviceNotAsDescribed = "service_not_as_described"
    case other
}

public enum DisputeOutcome: String, Sendable, Codable, Hashable, CaseIterable {
    case won
    case lost
}

/// The dispute state machine, pure.
public enum DisputeTransitions {
    public static func submit(from status: DisputeStatus) throws(DomainError) -> DisputeStatus {
        guard status == .opened else { throw refused(DisputeStatus.submitted.rawValue, status) }
        return .submitted
    }

    /// Only a submitted dispute gets an outcome: the network decides on what was submitted.
    public static func resolve(from status: DisputeStatus, _ outcome: DisputeOutcome) throws(DomainError) -> DisputeStatus {
        guard status == .submitted else { throw refused(outcome.rawValue, status) }
        return outcome == .won ? .won : .lost
    }

    public static func withdraw(from status: DisputeStatus) throws(DomainError) -> DisputeStatus {
        guard !status.isFinal else { throw refused(DisputeStatus.withdrawn.rawValue, status) }
        return .withdrawn
    }

    static func refused(_ target: String, _ status: DisputeStatus) -> DomainError {
        DomainError(.conflict, code: "dispute_invalid_state", message: "A dispute that is \(status.rawValue) cannot be \(target).")
    }
}

/// A dispute on a cleared transaction, with every step it went through.
public struct Dispute: Sendable, Hashable, Codable {
    public let id: DisputeID
    public let object: String
    public let transaction: TransactionID
    public let card: CardID
    public var status: DisputeStatus
    public let reason: DisputeReason
    public let amountMinor: Int64
    public let currency: Currency
    public var evidence: JSONValue
    public let provisionalCredit: Bool
    /// Every money step, in order: the provisional credit, its reversal, the chargeback.
    public var journalEntries: [JournalEntryID]
    public var history: [Step]
    public var settlement: SettlementID?
    public let createdAt: Timestamp
    public var updatedAt: Timestamp

    public struct Step: Sendable, Hashable, Codable {
        public let status: DisputeStatus
        public let actor: String
        public let note: String?
        public let journalEntry: JournalEntryID?
        public let at: Timestamp

        public init(status: DisputeStatus, actor: String, note: String?, journalEntry: JournalEntryID?, at: Timestamp) {
            self.status = status
            self.actor = actor
            self.note = note
            self.journalEntry = journalEntry
            self.at = at
        }
    }

    public init(id: DisputeID, transaction: TransactionID, card: CardID, status: DisputeStatus, reason: DisputeReason, amountMinor: Int64,
                currency: Currency, evidence: JSONValue, provisionalCredit: Bool, journalEntries: [JournalEntryID], history: [Step],
                settlement: SettlementID?, createdAt: Timestamp, updatedAt: Timestamp) {
        self.id = id
        self.object = ObjectType.dispute.rawValue
        self.transaction = transaction
        self.card = card
        self.status = status
        self.reason = reason
        self.amountMinor = amountMinor
        self.currency = currency
        self.evidence = evidence
        self.provisionalCredit = provisionalCredit
        self.journalEntries = journalEntries
        self.history = history
        self.settlement = settlement
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}
