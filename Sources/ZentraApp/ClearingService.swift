import ZentraCore
import ZentraStorage

public struct ClearingInput: Sendable, Decodable {
    public var clearingId: String
    public var authorization: Reference<AuthorizationKind>?
    public var networkReference: String?
    public var card: Reference<CardKind>
    public var amountMinor: Int64
    public var currency: String
    public var merchant: Merchant

    public init(clearingId: String, authorization: Reference<AuthorizationKind>?, networkReference: String?, card: Reference<CardKind>, amountMinor: Int64, currency: String,
                merchant: Merchant) {
        self.clearingId = clearingId
        self.authorization = authorization
        self.networkReference = networkReference
        self.card = card
        self.amountMinor = amountMinor
        self.currency = currency
        self.merchant = merchant
    }
}

/// A clearing record, checked: from `POST /clearings` or one line of a clearing file.
public struct ClearingRequest: Sendable {
    public let clearingID: String
    public let authorization: AuthorizationID?
    public let networkReference: String?
    public let card: CardID
    public let amount: Money
    public let merchant: Merchant
    public let fileID: String?
    public let fileLine: Int64?

    public init(_ input: ClearingInput, fileID: String? = nil, fileLine: Int64? = nil) throws {
        clearingID = try Validate.text(input.clearingId, "clearing_id", max: 128)
        authorization = try input.authorization.flatMap { $0.text.isEmpty ? nil : try $0.id("authorization", param: "authorization") }
        networkReference = try input.networkReference.flatMap { $0.isEmpty ? nil : try Validate.text($0, "network_reference", max: 128) }
        card = try input.card.id("card", param: "card")
        try MinorUnits.requirePositive(input.amountMinor, param: "amount_minor")
        amount = Money(minor: input.amountMinor, currency: try Validate.currency(input.currency))
        merchant = try input.merchant.validated()
        self.fileID = fileID
        self.fileLine = fileLine
    }
}

/// Clearing: matches a network record to its authorization and posts what the network moved.
/// `POST /clearings` is a window of one record; a clearing file runs windows of many.
public enum ClearingService {
    public static func clear(_ request: ClearingRequest, in tx: WriteTransaction) async throws -> ReferencedOutcome<Clearing> {
        var window = try await ClearingWindow.open([request], in: tx)
        let outcome = try window.clear(request, in: tx)
        try await window.write(in: tx)
        return outcome
    }
}

/// Clearing records planned together, set-based: what they need is read in a few statements
/// (`tx.clearings.window`, the cards locked first in id order, then the authorizations
/// and their transactions: one lock order with single clearings and authorizations), each record is
/// planned in memory in file order against what the records before it left, and everything is
/// written once per table (`tx.clearings.write(_:)`). A record that is refused changes nothing
/// (every check runs before it touches the window), so no savepoint is needed.
public struct ClearingWindow: Sendable {
    private var reads: ClearingWindowReads
    private var writes: ClearingWindowWrites
    /// The system accounts a clearing posts to, by currency.
    private let settlement: [Currency: LedgerAccountID]
    private let receivable: [Currency: LedgerAccountID]
    private var transactionIndex: [TransactionID: Int] = [:]
    private var authorizationIndex: [AuthorizationID: Int] = [:]
    /// The authorizations read, by network reference and (those holding money) by card.
    private let byReference: [String: AuthorizationID]
    private let heldByCard: [CardID: [AuthorizationID]]

    public static func open(_ requests: [ClearingRequest], in tx: WriteTransaction) async throws -> ClearingWindow {
        let reads = try await tx.clearings.window(
            clearingIDs: Set(requests.map(\.clearingID)), cards: Set(requests.map(\.card)), authorizations: Set(requests.compactMap(\.authorization)),
            references: Set(requests.compactMap(\.networkReference)), heldOn: Set(requests.filter { $0.authorization == nil }.map(\.card)),
            heldSince: tx.now.adding(seconds: -ClearingMatching.windowDays * 86_400))
        var settlement: [Currency: LedgerAccountID] = [:]
        var receivable: [Currency: LedgerAccountID] = [:]
        var accounts: Set<LedgerAccountID> = []
        for currency in Set(reads.cards.values.map(\.card.currency)) {
            settlement[currency] = try await tx.ledger.systemAccount(.settlement, currency: currency)
            receivable[currency] = try await tx.ledger.systemAccount(.cardholderReceivable, currency: currency)
            accounts.formUnion([settlement[currency]!, receivable[currency]!])
        }
        for card in reads.cards.values { accounts.formUnion([card.card.ledgerAccount, card.card.reservedLedgerAccount]) }
        return ClearingWindow(reads: reads, writes: ClearingWindowWrites(ledger: try await tx.ledger.book(accounts)),
                              settlement: settlement, receivable: receivable)
    }

    private init(reads: ClearingWindowReads, writes: ClearingWindowWrites, settlement: [Currency: LedgerAccountID],
                 receivable: [Currency: LedgerAccountID]) {
        self.reads = reads
        self.writes = writes
        self.settlement = settlement
        self.receivable = receivable
        let read = reads.authorizations.values.map(\.authorization)
        byReference = Dictionary(read.map { ($0.networkReference, $0.id) }, uniquingKeysWith: { first, _ in first })
        heldByCard = Dictionary(grouping: read.filter { $0.hold?.status == .held }, by: \.card).mapValues { $0.map(\.id) }
    }

    /// Plans one record. Every refusal is thrown before anything of the window changes.
    public mutating func clear(_ request: ClearingRequest, in tx: WriteTransaction) throws -> ReferencedOutcome<Clearing> {
        guard let read = reads.cards[request.card] else { throw DomainError.resourceMissing("card", id: request.card.rawValue, param: "card") }
        if let first = reads.cleared[request.clearingID] {
            guard first.card == request.card, first.amountMinor == request.amount.minor, first.currency == request.amount.currency else {
                throw DomainError(.unprocessable, code: "clearing_id_reused", message:
                    "clearing_id \(request.clearingID) was used for another record (\(first.id)): same card, amount and currency expected.",
                    param: "clearing_id")
            }
            return .existing(first)
        }
        let card = read.card
        guard request.amount.currency == card.currency else {
            throw DomainError.currencyMismatch(expected: card.currency.code, got: request.amount.currency.code)
        }

        let (method, stored) = try match(request, now: tx.now)
        let held = stored?.authorization.hold.flatMap { $0.status == .held ? $0.amountMinor : nil } ?? 0
        let plan = try ClearingPlan(heldMinor: held, clearedMinor: request.amount.minor,
                                    availableMinor: try writes.ledger.balance(card.ledgerAccount))
        let id: ClearingID = tx.newID()
        let draft = try LedgerRecipes.clearing(
            plan, currency: request.amount.currency, cardAvailable: card.ledgerAccount, cardReserved: card.reservedLedgerAccount,
            settlement: settlement[card.currency]!, receivable: receivable[card.currency]!, clearing: id.rawValue)

        // The spend windows keep counting what was cleared: a released remainder is given back to
        // the windows the hold counted in, an over-clear is counted now.
        let before = writes.counters[card.id] ?? read.counters
        var counters = before
        if plan.releasedMinor > 0, let stored { counters = counters.removing(plan.releasedMinor, spentIn: stored.windows) }
        if plan.addedSpendMinor > 0 {
            let keys = WindowKeys(at: tx.now, utcOffsetSeconds: TimeZones.utcOffsetSeconds(reads.timeZone, at: tx.now))
            counters = try counters.adding(plan.addedSpendMinor, at: keys)
        }
        var transaction = stored.flatMap { reads.transactions[$0.authorization.id] }
        if var existing = transaction {
            existing.amountMinor = try MinorUnits.add(existing.amountMinor, request.amount.minor)
            existing.updatedAt = tx.now
            transaction = existing
        }
        // The last check: the entry posts, or nothing of this record changes.
        let entry = try writes.ledger.post(draft, intent: nil)

        if counters != before { writes.counters[card.id] = counters }
        var authorization = stored?.authorization
        if var closed = authorization {
            if var hold = closed.hold, hold.status == .held {
                hold.amountMinor = 0
                hold.status = .cleared
                closed.hold = hold
                closed.status = .cleared
            }
            closed.adjustments.append(AuthorizationAdjustment(type: .clearing, amountMinor: request.amount.minor, status: .cleared,
                                                              journalEntry: entry.id, createdAt: tx.now))
            let finished = AuthorizationService.finished(closed, event: .authorizationCleared, in: tx)
            authorization = finished
            reads.authorizations[finished.id]?.authorization = finished
            keep(finished)
        }
        let made = transaction ?? CardTransaction(
            id: tx.newID(), card: card.id, authorization: authorization?.id, amountMinor: request.amount.minor, currency: request.amount.currency,
            merchant: request.merchant, disputedMinor: 0, createdAt: tx.now, updatedAt: tx.now)
        if transaction == nil { writes.insertedTransactions.insert(made.id) }
        if let authorization = authorization?.id { reads.transactions[authorization] = made }
        keep(made)

        let status: ClearingStatus = authorization == nil ? .unmatched : (plan.deltaMinor == 0 ? .matched : .mismatched)
        let caseID: ReconciliationCaseID? = status == .matched ? nil : tx.newID()
        let clearing = Clearing(
            id: id, clearingId: request.clearingID, status: status, matchMethod: method, authorization: authorization?.id,
            networkReference: request.networkReference, card: card.id, amountMinor: request.amount.minor, currency: request.amount.currency,
            authorizedMinor: held, deltaMinor: plan.deltaMinor, merchant: request.merchant, transaction: made.id,
            journalEntry: entry.id, plan: Clearing.Plan(plan), reconciliationCase: caseID, fileId: request.fileID,
            fileLine: request.fileLine, settlement: nil, createdAt: tx.now)
        let rendered = clearing.json.serialized
        writes.clearings.append((clearing, String(decoding: rendered, as: UTF8.self)))
        reads.cleared[request.clearingID] = clearing
        tx.emit(.clearing(status), objectType: .clearing, objectID: id.rawValue, rendered: rendered)
        tx.audit(.clearingPosted, objectType: .clearing, objectID: id.rawValue, context: .object([
            "clearing_id": .string(request.clearingID), "status": .string(status.rawValue), "match_method": .string(method.rawValue),
            "authorization": authorization.map { .string($0.id.rawValue) } ?? .null, "amount_minor": .int(request.amount.minor),
            "delta_minor": .int(plan.deltaMinor), "journal_entry": .string(entry.id.rawValue),
            "file_id": request.fileID.map { .string($0) } ?? .null, "file_line": request.fileLine.map { .int($0) } ?? .null,
        ]))

        if let caseID {
            let opened = ReconciliationCase(
                id: caseID, kind: status == .unmatched ? .unmatched : .amountMismatch, status: .open, clearing: id,
                authorization: authorization?.id, transaction: made.id, card: card.id, amountMinor: request.amount.minor,
                authorizedMinor: held, deltaMinor: plan.deltaMinor, currency: request.amount.currency,
                ledgerEntries: authorization?.journalEntries ?? [entry.id],
                owner: nil, resolution: nil, note: nil, resolvedBy: nil, resolvedAt: nil, createdAt: tx.now, updatedAt: tx.now)
            let renderedCase = opened.json.serialized
            writes.cases.append((opened, String(decoding: renderedCase, as: UTF8.self)))
            tx.emit(.reconciliationOpened, objectType: .reconciliationCase, objectID: caseID.rawValue, rendered: renderedCase)
            tx.audit(.event(.reconciliationOpened), objectType: .reconciliationCase, objectID: caseID.rawValue, context: .object([
                "clearing": .string(id.rawValue), "kind": .string(opened.kind.rawValue), "delta_minor": .int(plan.deltaMinor),
            ]))
        }
        return .created(clearing)
    }

    /// Writes everything the window planned.
    public func write(in tx: WriteTransaction) async throws {
        try await tx.clearings.write(writes)
    }

    /// The matching rules in order: the authorization id, else the network reference, else the
    /// card's open hold closest in amount (`ClearingMatching`). An id or reference that names an
    /// authorization of another card is refused rather than guessed around.
    private func match(_ request: ClearingRequest, now: Timestamp) throws -> (ClearingMatchMethod, StoredAuthorization?) {
        if let id = request.authorization {
            guard let found = reads.authorizations[id] else {
                throw DomainError.resourceMissing("authorization", id: id.rawValue, param: "authorization")
            }
            try Self.requireSameCard(found.authorization, request, param: "authorization")
            return (.authorization, found)
        }
        if let reference = request.networkReference,
           let found = byReference[reference].flatMap({ reads.authorizations[$0] }) {
            try Self.requireSameCard(found.authorization, request, param: "network_reference")
            return (.networkReference, found)
        }
        // Holds the records before this one cleared are no longer held.
        let candidates = (heldByCard[request.card] ?? []).compactMap { id -> ClearingMatching.Candidate? in
            guard let a = reads.authorizations[id]?.authorization else { return nil }
            guard a.currency == request.amount.currency, let hold = a.hold, hold.status == .held else { return nil }
            return ClearingMatching.Candidate(authorization: a.id, heldMinor: hold.amountMinor, createdAt: a.createdAt)
        }
        if let id = ClearingMatching.best(candidates, clearedMinor: request.amount.minor, now: now) {
            return (.cardAmount, reads.authorizations[id])
        }
        return (.none, nil)
    }

    static func requireSameCard(_ authorization: Authorization, _ request: ClearingRequest, param: String) throws {
        guard authorization.card == request.card else {
            throw DomainError.parameterInvalid(param, "authorization \(authorization.id) is on another card than \(request.card)")
        }
    }

    /// Each changed row once, in the state the window leaves it.
    private mutating func keep(_ authorization: Authorization) {
        if let index = authorizationIndex[authorization.id] { writes.authorizations[index] = authorization; return }
        authorizationIndex[authorization.id] = writes.authorizations.count
        writes.authorizations.append(authorization)
    }

    private mutating func keep(_ transaction: CardTransaction) {
        if let index = transactionIndex[transaction.id] { writes.transactions[index] = transaction; return }
        transactionIndex[transaction.id] = writes.transactions.count
        writes.transactions.append(transaction)
    }
}
