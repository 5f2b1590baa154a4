/// A clearing record as the API answers it: what the network presented, what it matched and how,
/// and what it posted.
public struct Clearing: Sendable, Hashable, Codable {
    public let id: ClearingID
    public let object: String
    /// The network's own key for the record; a second record with it is a replay.
    public let clearingId: String
    public let status: ClearingStatus
    public let matchMethod: ClearingMatchMethod
    public let authorization: AuthorizationID?
    public let networkReference: String?
    public let card: CardID
    public let amountMinor: Int64
    public let currency: Currency
    /// What the authorization held when the record arrived (0 when unmatched).
    public let authorizedMinor: Int64
    /// `amount_minor - authorized_minor`: positive for an over-clear.
    public let deltaMinor: Int64
    public let merchant: Merchant
    public let transaction: TransactionID
    public let journalEntry: JournalEntryID
    public let plan: Plan
    public let reconciliationCase: ReconciliationCaseID?
    public let fileId: String?
    public let fileLine: Int64?
    /// The batch that settled it; set by the settlement, not by the clearing.
    public var settlement: SettlementID?
    public let createdAt: Timestamp

    /// How the money moved (see `ClearingPlan`).
    public struct Plan: Sendable, Hashable, Codable {
        public let fromHoldMinor: Int64
        public let releasedMinor: Int64
        public let fromFundsMinor: Int64
        public let shortfallMinor: Int64

        public init(_ plan: ClearingPlan) {
            fromHoldMinor = plan.fromHoldMinor
            releasedMinor = plan.releasedMinor
            fromFundsMinor = plan.fromFundsMinor
            shortfallMinor = plan.shortfallMinor
        }
    }

    public init(id: ClearingID, clearingId: String, status: ClearingStatus, matchMethod: ClearingMatchMethod, authorization: AuthorizationID?,
                networkReference: String?, card: CardID, amountMinor: Int64, currency: Currency, authorizedMinor: Int64, deltaMinor: Int64,
                merchant: Merchant, transaction: TransactionID, journalEntry: JournalEntryID, plan: Plan,
                reconciliationCase: ReconciliationCaseID?, fileId: String?, fileLine: Int64?, settlement: SettlementID?, createdAt: Timestamp) {
        self.id = id
        self.object = ObjectType.clearing.rawValue
        self.clearingId = clearingId
        self.status = status
        self.matchMethod = matchMethod
        self.authorization = authorization
        self.networkReference = networkReference
        self.card = card
        self.amountMinor = amountMinor
        self.currency = currency
        self.authorizedMinor = authorizedMinor
        self.deltaMinor = deltaMinor
        self.merchant = merchant
        self.transaction = transaction
        self.journalEntry = journalEntry
        self.plan = plan
        self.reconciliationCase = reconciliationCase
        self.fileId = fileId
        self.fileLine = fileLine
        self.settlement = settlement
        self.createdAt = createdAt
    }
}

/// A cleared purchase: one per authorization (every clearing of it), or one per unmatched record.
public struct CardTransaction: Sendable, Hashable, Codable {
    public let id: TransactionID
    public let object: String
    public let card: CardID
    public let authorization: AuthorizationID?
    public var amountMinor: Int64
    public let currency: Currency
    public let merchant: Merchant
    /// Held by disputes that are not withdrawn; a new dispute may claim at most the rest.
    public var disputedMinor: Int64
    public let createdAt: Timestamp
    public var updatedAt: Timestamp

    public init(id: TransactionID, card: CardID, authorization: AuthorizationID?, amountMinor: Int64, currency: Currency, merchant: Merchant,
                disputedMinor: Int64, createdAt: Timestamp, updatedAt: Timestamp) {
        self.id = id
        self.object = ObjectType.transaction.rawValue
        self.card = card
        self.authorization = authorization
        self.amountMinor = amountMinor
        self.currency = currency
        self.merchant = merchant
        self.disputedMinor = disputedMinor
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// A difference between what the network cleared and what was authorized, for an operator to work.
public struct ReconciliationCase: Sendable, Hashable, Codable {
    public let id: ReconciliationCaseID
    public let object: String
    public let kind: ReconciliationKind
    public var status: ReconciliationStatus
    public let clearing: ClearingID
    public let authorization: AuthorizationID?
    public let transaction: TransactionID
    public let card: CardID
    public let amountMinor: Int64
    public let authorizedMinor: Int64
    public let deltaMinor: Int64
    public let currency: Currency
    /// The authorization's hold and adjustments, then the clearing's entry.
    public let ledgerEntries: [JournalEntryID]
    public var owner: String?
    public var resolution: ReconciliationResolution?
    public var note: String?
    public var resolvedBy: String?
    public var resolvedAt: Timestamp?
    public let createdAt: Timestamp
    public var updatedAt: Timestamp

    public init(id: ReconciliationCaseID, kind: ReconciliationKind, status: ReconciliationStatus, clearing: ClearingID,
                authorization: AuthorizationID?, transaction: TransactionID, card: CardID, amountMinor: Int64, authorizedMinor: Int64,
                deltaMinor: Int64, currency: Currency, ledgerEntries: [JournalEntryID], owner: String?, resolution: ReconciliationResolution?,
                note: String?, resolvedBy: String?, resolvedAt: Timestamp?, createdAt: Timestamp, updatedAt: Timestamp) {
        self.id = id
        self.object = ObjectType.reconciliationCase.rawValue
        self.kind = kind
        self.status = status
        self.clearing = clearing
        self.authorization = authorization
        self.transaction = transaction
        self.card = card
        self.amountMinor = amountMinor
        self.authorizedMinor = authorizedMinor
        self.deltaMinor = deltaMinor
        self.currency = currency
        self.ledgerEntries = ledgerEntries
        self.owner = owner
        self.resolution = resolution
        self.note = note
        self.resolvedBy = resolvedBy
        self.resolvedAt = resolvedAt
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// Where a settlement batch and its payout are. A batch is closed as it is made, and its payout
/// with it: there is no open batch, so `closed` is the only status.
public enum SettlementStatus: String, Sendable, Codable, Hashable, CaseIterable {
    case closed
}

/// A closed settlement batch of one currency: every cleared record and won chargeback not settled
/// before, netted, moved from Settlement to Merchant; the payout is closed with it.
public struct Settlement: Sendable, Hashable, Codable {
    public let id: SettlementID
    public let object: String
    public let currency: Currency
    public let status: SettlementStatus
    public let clearingsMinor: Int64
    public let chargebacksMinor: Int64
    /// `clearings_minor - chargebacks_minor`: what moved to the merchant side.
    public let netMinor: Int64
    public let clearingCount: Int64
    public let disputeCount: Int64
    public let journalEntry: JournalEntryID?
    public let payout: Payout
    public let createdAt: Timestamp

    public struct Payout: Sendable, Hashable, Codable {
        public let status: SettlementStatus
        public let amountMinor: Int64
        public let closedAt: Timestamp

        public init(status: SettlementStatus, amountMinor: Int64, closedAt: Timestamp) {
            self.status = status
            self.amountMinor = amountMinor
            self.closedAt = closedAt
        }
    }

    public init(id: SettlementID, currency: Currency, clearingsMinor: Int64, chargebacksMinor: Int64, netMinor: Int64, clearingCount: Int64,
                disputeCount: Int64, journalEntry: JournalEntryID?, payout: Payout, createdAt: Timestamp) {
        self.id = id
        self.object = ObjectType.settlement.rawValue
        self.currency = currency
        self.status = .closed
        self.clearingsMinor = clearingsMinor
        self.chargebacksMinor = chargebacksMinor
        self.netMinor = netMinor
        self.clearingCount = clearingCount
        self.disputeCount = disputeCount
        self.journalEntry = journalEntry
        self.payout = payout
        self.createdAt = createdAt
    }
}

/// Where a run of a clearing file is, as the `clearing_files` table stores it: `processing` while
/// one server works through it, `completed` once it finished or was given up.
public enum ClearingFileStatus: String, Sendable, Codable, Hashable, CaseIterable {
    case processing
    case completed
}

/// What one run of a clearing file did, as counted line by line.
public struct ClearingFileSummary: Sendable, Hashable, Codable {
    public let object: String
    public let fileId: String
    /// Always `completed`: a summary is written when its run ends.
    public let status: ClearingFileStatus
    /// How many times the file was sent; the same bytes sent again post nothing (`replayed`).
    public let runs: Int64
    public let sha256: String
    public let replayed: Bool
    public let records: Int64
    public let counts: Counts
    public let startedAt: Timestamp
    public let completedAt: Timestamp

    public struct Counts: Sendable, Hashable, Codable {
        public var matched: Int64 = 0
        public var mismatched: Int64 = 0
        public var unmatched: Int64 = 0
        public var duplicates: Int64 = 0
        public var failed: Int64 = 0

        public init() {}
        public var total: Int64 { matched + mismatched + unmatched + duplicates + failed }
    }

    public init(fileId: String, runs: Int64, sha256: String, replayed: Bool, counts: Counts, startedAt: Timestamp, completedAt: Timestamp) {
        self.object = ObjectType.clearingFile.rawValue
        self.fileId = fileId
        self.status = .completed
        self.runs = runs
        self.sha256 = sha256
        self.replayed = replayed
        self.records = counts.total
        self.counts = counts
        self.startedAt = startedAt
        self.completedAt = completedAt
    }
}
