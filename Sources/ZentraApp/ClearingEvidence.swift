import ZentraCore
import ZentraStorage

/// Everything attached to a clearing, in one document: the record, the authorization it matched,
/// the journal entries (hold, adjustments, clearing), the delta, the reconciliation case and its
/// owner, the events and the audit records. The same packet answers for the clearing and for its
/// reconciliation case.
public struct ClearingEvidence: Sendable, Encodable {
    public let object: String
    public let clearing: Clearing
    public let authorization: Authorization?
    public let transaction: CardTransaction?
    public let reconciliationCase: ReconciliationCase?
    public let deltaMinor: Int64
    public let owner: String?
    public let journalEntries: [JournalEntry]
    public let events: [Event]
    public let auditRecords: [AuditRecord]

    public static func load(clearing id: ClearingID, scope: some TenantScope) async throws -> ClearingEvidence {
        guard let clearing = try await scope.clearings.find(id) else { throw DomainError.resourceMissing("clearing", id: id.rawValue) }
        return try await load(clearing, object: "clearing_evidence", scope: scope)
    }

    public static func load(reconciliationCase id: ReconciliationCaseID, scope: some TenantScope) async throws -> ClearingEvidence {
        guard let found = try await scope.reconciliationCases.find(id), let clearing = try await scope.clearings.find(found.clearing) else {
            throw DomainError.resourceMissing("reconciliation_case", id: id.rawValue)
        }
        return try await load(clearing, object: "reconciliation_case_evidence", scope: scope)
    }

    static func load(_ clearing: Clearing, object: String, scope: some TenantScope) async throws -> ClearingEvidence {
        var authorization: Authorization?
        if let id = clearing.authorization { authorization = try await scope.authorizations.find(id)?.authorization }
        var reconciliation: ReconciliationCase?
        if let id = clearing.reconciliationCase { reconciliation = try await scope.reconciliationCases.find(id) }
        // `journalEntries` lists each entry once, in the order given.
        let entryIDs = (authorization?.journalEntries ?? []) + [clearing.journalEntry]
        var objects = [clearing.id.rawValue]
        if let authorization { objects.append(authorization.id.rawValue) }
        if let reconciliation { objects.append(reconciliation.id.rawValue) }
        return ClearingEvidence(
            object: object, clearing: clearing, authorization: authorization, transaction: try await scope.cardTransactions.find(clearing.transaction),
            reconciliationCase: reconciliation, deltaMinor: clearing.deltaMinor, owner: reconciliation?.owner,
            journalEntries: try await scope.ledger.journalEntries(entryIDs), events: try await scope.events.all(about: objects),
            auditRecords: try await scope.auditLog.all(about: objects))
    }
}

/// A cleared purchase with its authorization, clearing records, journal entries and disputes.
public struct TransactionDetail: Sendable, Encodable {
    public let transaction: CardTransaction
    public let authorization: Authorization?
    public let clearings: [Clearing]
    public let disputes: [Dispute]
    public let journalEntries: [JournalEntry]

    public static func load(_ id: TransactionID, scope: some TenantScope) async throws -> TransactionDetail {
        guard let transaction = try await scope.cardTransactions.find(id) else { throw DomainError.resourceMissing("transaction", id: id.rawValue) }
        var authorization: Authorization?
        if let id = transaction.authorization { authorization = try await scope.authorizations.find(id)?.authorization }
        let clearings = try await scope.clearings.all(transaction: id)
        let disputes = try await scope.disputes.all(transaction: id)
        let entryIDs = (authorization?.journalEntries ?? []) + clearings.map(\.journalEntry) + disputes.flatMap(\.journalEntries)
        return TransactionDetail(transaction: transaction, authorization: authorization, clearings: clearings, disputes: disputes,
                                 journalEntries: try await scope.ledger.journalEntries(entryIDs))
    }

    enum CodingKeys: String, CodingKey { case authorizationDetail = "authorization_detail", clearings, disputes, journalEntries = "journal_entries" }

    /// The transaction's own fields, then what is attached to it.
    public func encode(to encoder: any Encoder) throws {
        try transaction.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(authorization, forKey: .authorizationDetail)
        try container.encode(clearings, forKey: .clearings)
        try container.encode(disputes, forKey: .disputes)
        try container.encode(journalEntries, forKey: .journalEntries)
    }
}

/// A dispute with its transaction (authorization, clearings, entries), its events and audit records.
public struct DisputeEvidence: Sendable, Encodable {
    public let object = "dispute_evidence"
    public let dispute: Dispute
    public let transaction: TransactionDetail
    public let journalEntries: [JournalEntry]
    public let events: [Event]
    public let auditRecords: [AuditRecord]

    public static func load(_ id: DisputeID, scope: some TenantScope) async throws -> DisputeEvidence {
        guard let dispute = try await scope.disputes.find(id) else { throw DomainError.resourceMissing("dispute", id: id.rawValue) }
        return DisputeEvidence(dispute: dispute, transaction: try await TransactionDetail.load(dispute.transaction, scope: scope),
                               journalEntries: try await scope.ledger.journalEntries(dispute.journalEntries),
                               events: try await scope.events.all(about: [id.rawValue]), auditRecords: try await scope.auditLog.all(about: [id.rawValue]))
    }
}
