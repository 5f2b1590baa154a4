import ZentraCore

// Clearings, the transactions they make, reconciliation cases, settlement batches and disputes.
// Each row keeps its object whole as JSON in `data`; the other columns are what is matched,
// filtered, summed and locked on. A settlement marks rows by `settlement_id` without rewriting
// them, so that column is the truth for `settlement` and is laid over the JSON when read.

/// Clearings, and the window of clearing records that reads and writes them.
public struct ClearingRepository<Scope: TenantScope>: AggregateRepository {
    let base: Scope
}

extension TenantScope {
    public var clearings: ClearingRepository<Self> { ClearingRepository(base: self) }
}

extension ClearingRepository {
    public func find(_ id: ClearingID) async throws -> Clearing? {
        try await base.stored("clearings", id, columns: "data, settlement_id", decode: base.decodeClearing)
    }

    public func list(_ request: PageRequest, status: ClearingStatus?) async throws -> Page<Clearing> {
        try await base.page(request, table: "clearings", columns: "data, settlement_id", filter: status.map { "status = \($0.rawValue)" },
                            decode: base.decodeClearing)
    }

    /// Every clearing of a transaction, or of a settlement batch, oldest first.
    public func all(transaction: TransactionID) async throws -> [Clearing] {
        try await base.all("clearings", where: "transaction_id", is: transaction.rawValue, decode: base.decodeClearing)
    }

    public func all(settlement: SettlementID) async throws -> [Clearing] {
        try await base.all("clearings", where: "settlement_id", is: settlement.rawValue, decode: base.decodeClearing)
    }
}

extension ClearingRepository where Scope == WriteTransaction {
    /// What a window of clearing records reads before it is planned, one statement per kind of row:
    /// the clearings their `clearing_id`s made before; their cards, state rows locked in id order
    /// (the card's one lock, taken first as by every writer of a card); the authorizations they name
    /// by id or network reference and the held authorizations of `heldOn` (cards of records naming no
    /// authorization), locked; and the transactions of all those authorizations, locked.
    public func window(clearingIDs: Set<String>, cards: Set<CardID>, authorizations: Set<AuthorizationID>, references: Set<String>,
                       heldOn: Set<CardID>, heldSince: Timestamp) async throws -> ClearingWindowReads {
        func list<T: SQLBindable>(_ values: some Collection<T>) -> SQL {
            "(" + SQL.joined(values.map { "\($0)" }, separator: ", ") + ")"
        }
        var reads = ClearingWindowReads()
        if !clearingIDs.isEmpty {
            for row in try await sql.query("SELECT data, settlement_id FROM clearings WHERE tenant_id = \(tenant) AND clearing_id IN "
                + list(clearingIDs.sorted())) {
                let clearing = try base.decodeClearing(row)
                reads.cleared[clearing.clearingId] = clearing
            }
        }
        guard !cards.isEmpty else { return reads }
        for row in try await sql.query("\(raw: Scope.cardSelect) WHERE s.tenant_id = \(tenant) AND s.card_id IN " + list(cards.sorted())
            + " ORDER BY s.card_id" + SQL.forUpdate(of: "s")) {
            let card = try base.decodeCard(row)
            reads.cards[card.id] = ClearingWindowReads.CardAndCounters(card: card, counters: try base.decodeSpendCounters(row))
        }
        if let row = try await sql.queryOne("SELECT time_zone FROM tenants WHERE id = \(tenant)") { reads.timeZone = try row.string("time_zone") }
        var filters: [SQL] = []
        if !authorizations.isEmpty { filters.append("a.id IN " + list(authorizations.sorted())) }
        if !references.isEmpty { filters.append("a.network_reference IN " + list(references.sorted())) }
        if !heldOn.isEmpty {
            filters.append("(a.card_id IN " + list(heldOn.sorted())
                + " AND a.hold_status = '\(raw: AuthorizationHold.HoldStatus.held.rawValue)' AND a.created_at >= \(heldSince))")
        }
        guard !filters.isEmpty else { return reads }
        for stored in try await base.storedAuthorizations(where: "(" + SQL.joined(filters, separator: " OR ") + ")", lock: true) {
            reads.authorizations[stored.authorization.id] = stored
        }
        guard !reads.authorizations.isEmpty else { return reads }
        for row in try await sql.query("SELECT data FROM transactions WHERE tenant_id = \(tenant) AND authorization_id IN "
            + list(reads.authorizations.keys.sorted()) + SQL.forUpdate) {
            let transaction: CardTransaction = try row.json("data")
            if let authorization = transaction.authorization { reads.transactions[authorization] = transaction }
        }
        return reads
    }

    /// Writes what a window of clearing records planned, each table once. A `clearing_id` another
    /// process posted meanwhile fails the unique index, and the unit of work runs again (it then
    /// reads that clearing).
    public func write(_ window: ClearingWindowWrites) async throws {
        var clearings = BulkRows("clearings", [
            .init("id", .text), .init("tenant_id", .text), .init("clearing_id", .text), .init("card_id", .text), .init("authorization_id", .text),
            .init("transaction_id", .text), .init("status", .text), .init("amount_minor", .bigint), .init("currency", .text),
            .init("data", .text), .init("created_at", .bigint),
        ])
        for (c, json) in window.clearings {
            clearings.append([c.id.sqlValue, tenant.sqlValue, .text(c.clearingId), c.card.sqlValue, c.authorization.sqlValue,
                              c.transaction.sqlValue, .text(c.status.rawValue), .int(c.amountMinor), c.currency.sqlValue, .text(json),
                              c.createdAt.sqlValue])
        }
        var newTransactions = BulkRows("transactions", [
            .init("id", .text), .init("tenant_id", .text), .init("card_id", .text), .init("authorization_id", .text), .init("currency", .text),
            .init("data", .text), .init("created_at", .bigint),
        ])
        var changedTransactions = BulkRows("transactions", [.init("tenant_id", .text), .init("id", .text), .init("data", .text)])
        for t in window.transactions {
            if window.insertedTransactions.contains(t.id) {
                newTransactions.append([t.id.sqlValue, tenant.sqlValue, t.card.sqlValue, t.authorization.sqlValue, t.currency.sqlValue,
                                        .text(t.json.serializedString), t.createdAt.sqlValue])
            } else {
                changedTransactions.append([tenant.sqlValue, t.id.sqlValue, .text(t.json.serializedString)])
            }
        }
        var cases = BulkRows("reconciliation_cases", [.init("id", .text), .init("tenant_id", .text), .init("clearing_id", .text),
                                                      .init("status", .text), .init("data", .text), .init("created_at", .bigint)])
        for (c, json) in window.cases {
            cases.append([c.id.sqlValue, tenant.sqlValue, c.clearing.sqlValue, .text(c.status.rawValue), .text(json), c.createdAt.sqlValue])
        }
        var authorizations = BulkRows("authorizations", [
            .init("tenant_id", .text), .init("id", .text), .init("status", .text), .init("decline_reason", .text),
            .init("hold_amount_minor", .bigint), .init("hold_status", .text), .init("review", .text), .init("adjustments", .text),
            .init("updated_at", .bigint),
        ])
        for a in window.authorizations {
            authorizations.append([tenant.sqlValue, a.id.sqlValue, .text(a.status.rawValue), (a.declineReason?.rawValue).sqlValue,
                                   (a.hold?.amountMinor).sqlValue, (a.hold?.status.rawValue).sqlValue, (a.review?.serializedString).sqlValue,
                                   .text(JSONValue.array(a.adjustments.map(\.json)).serializedString), a.updatedAt.sqlValue])
        }
        var counters = BulkRows("card_state", ["tenant_id", "card_id", "day_key", "day_minor", "week_key", "week_minor", "month_key",
                                               "month_minor", "lifetime_minor"].enumerated().map { BulkRows.Column($1, $0 < 2 ? .text : .bigint) })
        for (card, c) in window.counters.sorted(by: { $0.key < $1.key }) {
            counters.append([tenant.sqlValue, card.sqlValue, .int(c.dayKey), .int(c.dayMinor), .int(c.weekKey), .int(c.weekMinor),
                             .int(c.monthKey), .int(c.monthMinor), .int(c.lifetimeMinor)])
        }
        try await base.ledger.write(window.ledger)
        try await sql.update(counters, keys: 2)
        try await sql.update(authorizations, keys: 2)
        try await sql.insert(newTransactions)
        try await sql.update(changedTransactions, keys: 2)
        try await sql.insert(clearings)
        try await sql.insert(cases)
    }
}

/// Card transactions, the money movements clearings make of authorizations.
public struct CardTransactionRepository<Scope: TenantScope>: AggregateRepository {
    let base: Scope
}

extension TenantScope {
    public var cardTransactions: CardTransactionRepository<Self> { CardTransactionRepository(base: self) }
}

extension CardTransactionRepository {
    public func find(_ id: TransactionID) async throws -> CardTransaction? {
        try await base.stored("transactions", id)
    }

    public func list(_ request: PageRequest, card: CardID?) async throws -> Page<CardTransaction> {
        try await base.page(request, table: "transactions", columns: "data", filter: card.map { "card_id = \($0)" }) { try $0.json("data") }
    }
}

extension CardTransactionRepository where Scope == WriteTransaction {
    public func locked(_ id: TransactionID) async throws -> CardTransaction? {
        try await base.stored("transactions", id, forUpdate: true)
    }

    public func update(_ t: CardTransaction) async throws {
        try await sql.execute("UPDATE transactions SET data = \(t.json.serializedString) WHERE tenant_id = \(tenant) AND id = \(t.id)")
    }
}

/// Reconciliation cases, opened for clearings that do not match what was authorized.
public struct ReconciliationCaseRepository<Scope: TenantScope>: AggregateRepository {
    let base: Scope
}

extension TenantScope {
    public var reconciliationCases: ReconciliationCaseRepository<Self> { ReconciliationCaseRepository(base: self) }
}

extension ReconciliationCaseRepository {
    public func find(_ id: ReconciliationCaseID) async throws -> ReconciliationCase? {
        try await base.stored("reconciliation_cases", id)
    }

    public func list(_ request: PageRequest, status: ReconciliationStatus?) async throws -> Page<ReconciliationCase> {
        try await base.page(request, table: "reconciliation_cases", columns: "data", filter: status.map { "status = \($0.rawValue)" }) {
            try $0.json("data")
        }
    }
}

extension ReconciliationCaseRepository where Scope == WriteTransaction {
    public func locked(_ id: ReconciliationCaseID) async throws -> ReconciliationCase? {
        try await base.stored("reconciliation_cases", id, forUpdate: true)
    }

    public func update(_ c: ReconciliationCase, json: String) async throws {
        try await sql.execute("""
            UPDATE reconciliation_cases SET status = \(c.status.rawValue), data = \(json)
            WHERE tenant_id = \(tenant) AND id = \(c.id)
            """)
    }
}

/// Settlement batches, and the unsettled clearings and won chargebacks they cover.
public struct SettlementRepository<Scope: TenantScope>: AggregateRepository {
    let base: Scope
}

extension TenantScope {
    public var settlements: SettlementRepository<Self> { SettlementRepository(base: self) }
}

extension SettlementRepository {
    public func find(_ id: SettlementID) async throws -> Settlement? {
        try await base.stored("settlements", id)
    }

    public func list(_ request: PageRequest) async throws -> Page<Settlement> {
        try await base.page(request, table: "settlements", columns: "data") { try $0.json("data") }
    }
}

extension SettlementRepository where Scope == WriteTransaction {
    /// What the next settlement batch of `currency` covers: every clearing and every won chargeback
    /// not in a batch yet. Read after the settlement ledger account is locked, so that nothing
    /// that posts to it can commit in between.
    public func unsettledTotals(currency: Currency) async throws -> (clearingsMinor: Int64, clearingCount: Int64, chargebacksMinor: Int64, disputeCount: Int64) {
        guard let row = try await sql.queryOne("""
            SELECT (SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) FROM clearings
                    WHERE tenant_id = \(tenant) AND currency = \(currency) AND settlement_id IS NULL) AS clearings_minor,
                   (SELECT COUNT(*) FROM clearings WHERE tenant_id = \(tenant) AND currency = \(currency) AND settlement_id IS NULL) AS clearing_count,
                   (SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) FROM disputes
                    WHERE tenant_id = \(tenant) AND currency = \(currency) AND status = '\(raw: DisputeStatus.won.rawValue)' AND settlement_id IS NULL) AS chargebacks_minor,
                   (SELECT COUNT(*) FROM disputes
                    WHERE tenant_id = \(tenant) AND currency = \(currency) AND status = '\(raw: DisputeStatus.won.rawValue)' AND settlement_id IS NULL) AS dispute_count
            """) else { return (0, 0, 0, 0) }
        return (try row.int("clearings_minor"), try row.int("clearing_count"), try row.int("chargebacks_minor"), try row.int("dispute_count"))
    }

    /// Marks everything `unsettledTotals` counted as covered by `settlement`.
    public func markSettled(currency: Currency, by settlement: SettlementID) async throws {
        try await sql.execute("""
            UPDATE clearings SET settlement_id = \(settlement)
            WHERE tenant_id = \(tenant) AND currency = \(currency) AND settlement_id IS NULL
            """)
        try await sql.execute("""
            UPDATE disputes SET settlement_id = \(settlement)
            WHERE tenant_id = \(tenant) AND currency = \(currency) AND status = '\(raw: DisputeStatus.won.rawValue)' AND settlement_id IS NULL
            """)
    }

    public func insert(_ s: Settlement) async throws {
        try await sql.execute("""
            INSERT INTO settlements (id, tenant_id, currency, data, created_at)
            VALUES (\(s.id), \(tenant), \(s.currency), \(try ZentraJSON.encodeString(s)), \(s.createdAt))
            """)
    }
}

/// Disputes (chargebacks) of card transactions.
public struct DisputeRepository<Scope: TenantScope>: AggregateRepository {
    let base: Scope
}

extension TenantScope {
    public var disputes: DisputeRepository<Self> { DisputeRepository(base: self) }
}

extension DisputeRepository {
    public func find(_ id: DisputeID) async throws -> Dispute? {
        try await base.stored("disputes", id, columns: "data, settlement_id", decode: base.decodeDispute)
    }

    public func list(_ request: PageRequest, transaction: TransactionID?) async throws -> Page<Dispute> {
        try await base.page(request, table: "disputes", columns: "data, settlement_id", filter: transaction.map { "transaction_id = \($0)" },
                            decode: base.decodeDispute)
    }

    /// Disputes still waiting for an outcome (opened or submitted), newest first: the console's queue.
    public func listOpen(_ request: PageRequest) async throws -> Page<Dispute> {
        try await base.page(request, table: "disputes", columns: "data, settlement_id",
                            filter: "status IN ('\(raw: DisputeStatus.opened.rawValue)', '\(raw: DisputeStatus.submitted.rawValue)')",
                            decode: base.decodeDispute)
    }

    public func all(transaction: TransactionID) async throws -> [Dispute] {
        try await base.all("disputes", where: "transaction_id", is: transaction.rawValue, decode: base.decodeDispute)
    }

    public func all(settlement: SettlementID) async throws -> [Dispute] {
        try await base.all("disputes", where: "settlement_id", is: settlement.rawValue, decode: base.decodeDispute)
    }
}

extension DisputeRepository where Scope == WriteTransaction {
    public func insert(_ d: Dispute) async throws {
        try await sql.execute("""
            INSERT INTO disputes (id, tenant_id, transaction_id, status, currency, amount_minor, data, created_at)
            VALUES (\(d.id), \(tenant), \(d.transaction), \(d.status.rawValue), \(d.currency), \(d.amountMinor),
                    \(try ZentraJSON.encodeString(d)), \(d.createdAt))
            """)
    }

    public func locked(_ id: DisputeID) async throws -> Dispute? {
        try await base.stored("disputes", id, columns: "data, settlement_id", forUpdate: true, decode: base.decodeDispute)
    }

    public func update(_ d: Dispute) async throws {
        try await sql.execute("""
            UPDATE disputes SET status = \(d.status.rawValue), data = \(try ZentraJSON.encodeString(d)) WHERE tenant_id = \(tenant) AND id = \(d.id)
            """)
    }
}

extension TenantScope {
    /// The object kept whole in `data` in `table` with this id, row-locked until commit when asked
    /// (`table` and `columns` are code).
    func stored<T>(_ table: String, _ id: some SQLBindable, columns: String = "data", forUpdate: Bool = false,
                   decode: (SQLRow) throws -> T) async throws -> T? {
        try await sql.queryOne("SELECT \(raw: columns) FROM \(raw: table) WHERE tenant_id = \(tenant) AND id = \(id)"
            + (forUpdate ? SQL.forUpdate : "")).map(decode)
    }

    func stored<T: Decodable>(_ table: String, _ id: some SQLBindable, forUpdate: Bool = false) async throws -> T? {
        try await stored(table, id, forUpdate: forUpdate) { try $0.json("data") }
    }

    /// Every row of `table` whose `column` is `value`, oldest first (`table` and `column` are code).
    fileprivate func all<T>(_ table: String, where column: String, is value: String, decode: (SQLRow) throws -> T) async throws -> [T] {
        try await sql.query("""
            SELECT data, settlement_id FROM \(raw: table) WHERE tenant_id = \(tenant) AND \(raw: column) = \(value) ORDER BY created_at, id
            """).map(decode)
    }

    func decodeClearing(_ row: SQLRow) throws -> Clearing {
        var clearing: Clearing = try row.json("data")
        clearing.settlement = try row.optionalID("settlement_id")
        return clearing
    }

    func decodeDispute(_ row: SQLRow) throws -> Dispute {
        var dispute: Dispute = try row.json("data")
        dispute.settlement = try row.optionalID("settlement_id")
        return dispute
    }
}

/// What `tx.clearings.window` read: the rows a window of clearing records is planned on.
public struct ClearingWindowReads: Sendable {
    public struct CardAndCounters: Sendable {
        public let card: Card
        public let counters: SpendCounters
    }

    /// By `clearing_id`.
    public var cleared: [String: Clearing] = [:]
    public var cards: [CardID: CardAndCounters] = [:]
    public var timeZone = "UTC"
    public var authorizations: [AuthorizationID: StoredAuthorization] = [:]
    /// By the authorization they clear.
    public var transactions: [AuthorizationID: CardTransaction] = [:]
}

/// What a window of clearing records writes (`tx.clearings.write(_:)`): rows rendered once.
public struct ClearingWindowWrites: Sendable {
    public var ledger: LedgerBook
    public var clearings: [(Clearing, String)] = []
    public var cases: [(ReconciliationCase, String)] = []
    /// Every transaction the window made or changed, in the state it leaves them.
    public var transactions: [CardTransaction] = []
    public var insertedTransactions: Set<TransactionID> = []
    public var authorizations: [Authorization] = []
    public var counters: [CardID: SpendCounters] = [:]

    public init(ledger: LedgerBook) {
        self.ledger = ledger
    }
}
