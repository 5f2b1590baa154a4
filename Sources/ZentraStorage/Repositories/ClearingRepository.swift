import ZentraCore

/// Clearings, the transactions they make, reconciliation cases, settlement batches and disputes.
/// Each row keeps its object whole as JSON in `data`; the other columns are what is matched,
/// filtered, summed and locked on. A settlement marks rows by `settlement_id` without rewriting
/// them, so that column is the truth for `settlement` and is laid over the JSON when read.
extension WriteTransaction {
    /// The clearing an earlier record with this network key made, if any.
    public func clearing(networkKey: String) async throws -> Clearing? {
        try await sql.queryOne("SELECT data, settlement_id FROM clearings WHERE tenant_id = \(tenant) AND clearing_id = \(networkKey)")
            .map(decodeClearing)
    }

    /// - Parameter json: the clearing rendered once, for this row and its event.
    public func insertClearing(_ c: Clearing, json: String) async throws {
        try await sql.execute("""
            INSERT INTO clearings (id, tenant_id, clearing_id, card_id, authorization_id, transaction_id, status, amount_minor, currency,
                                   data, created_at)
            VALUES (\(c.id), \(tenant), \(c.clearingId), \(c.card), \(c.authorization), \(c.transaction), \(c.status.rawValue),
                    \(c.amountMinor), \(c.currency), \(json), \(c.createdAt))
            """)
    }

    /// The card's authorizations still holding money in `currency`, for matching by amount.
    public func heldAuthorizations(card: CardID, currency: Currency, since: Timestamp) async throws -> [ClearingMatching.Candidate] {
        try await sql.query("""
            SELECT id, hold_amount_minor, created_at FROM authorizations
            WHERE tenant_id = \(tenant) AND card_id = \(card) AND hold_status = 'held' AND currency = \(currency) AND created_at >= \(since)
            """).map { row in
            ClearingMatching.Candidate(authorization: try row.id("id"), heldMinor: try row.int("hold_amount_minor"),
                                       createdAt: try row.timestamp("created_at"))
        }
    }

    /// The transaction of an authorization's earlier clearings, row-locked.
    public func lockedTransaction(authorization: AuthorizationID) async throws -> CardTransaction? {
        try await sql.queryOne("SELECT data FROM transactions WHERE tenant_id = \(tenant) AND authorization_id = \(authorization)" + SQL.forUpdate)
            .map { try $0.json("data") }
    }

    public func lockedTransaction(_ id: TransactionID) async throws -> CardTransaction? {
        try await stored("transactions", id, forUpdate: true)
    }

    public func insertTransaction(_ t: CardTransaction) async throws {
        try await sql.execute("""
            INSERT INTO transactions (id, tenant_id, card_id, authorization_id, currency, data, created_at)
            VALUES (\(t.id), \(tenant), \(t.card), \(t.authorization), \(t.currency), \(t.json.serializedString), \(t.createdAt))
            """)
    }

    public func updateTransaction(_ t: CardTransaction) async throws {
        try await sql.execute("UPDATE transactions SET data = \(t.json.serializedString) WHERE tenant_id = \(tenant) AND id = \(t.id)")
    }

    public func insertReconciliationCase(_ c: ReconciliationCase, json: String) async throws {
        try await sql.execute("""
            INSERT INTO reconciliation_cases (id, tenant_id, clearing_id, status, data, created_at)
            VALUES (\(c.id), \(tenant), \(c.clearing), \(c.status.rawValue), \(json), \(c.createdAt))
            """)
    }

    public func lockedReconciliationCase(_ id: ReconciliationCaseID) async throws -> ReconciliationCase? {
        try await stored("reconciliation_cases", id, forUpdate: true)
    }

    public func updateReconciliationCase(_ c: ReconciliationCase, json: String) async throws {
        try await sql.execute("""
            UPDATE reconciliation_cases SET status = \(c.status.rawValue), data = \(json)
            WHERE tenant_id = \(tenant) AND id = \(c.id)
            """)
    }

    /// What the next settlement batch of `currency` covers: every clearing and every won chargeback
    /// not in a batch yet. Read after the settlement ledger account is locked, so that nothing
    /// that posts to it can commit in between.
    public func unsettledTotals(currency: Currency) async throws -> (clearingsMinor: Int64, clearingCount: Int64, chargebacksMinor: Int64, disputeCount: Int64) {
        guard let row = try await sql.queryOne("""
            SELECT (SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) FROM clearings
                    WHERE tenant_id = \(tenant) AND currency = \(currency) AND settlement_id IS NULL) AS clearings_minor,
                   (SELECT COUNT(*) FROM clearings WHERE tenant_id = \(tenant) AND currency = \(currency) AND settlement_id IS NULL) AS clearing_count,
                   (SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) FROM disputes
                    WHERE tenant_id = \(tenant) AND currency = \(currency) AND status = 'won' AND settlement_id IS NULL) AS chargebacks_minor,
                   (SELECT COUNT(*) FROM disputes
                    WHERE tenant_id = \(tenant) AND currency = \(currency) AND status = 'won' AND settlement_id IS NULL) AS dispute_count
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
            WHERE tenant_id = \(tenant) AND currency = \(currency) AND status = 'won' AND settlement_id IS NULL
            """)
    }

    public func insertSettlement(_ s: Settlement) async throws {
        try await sql.execute("""
            INSERT INTO settlements (id, tenant_id, currency, data, created_at)
            VALUES (\(s.id), \(tenant), \(s.currency), \(try ZentraJSON.encodeString(s)), \(s.createdAt))
            """)
    }

    public func insertDispute(_ d: Dispute) async throws {
        try await sql.execute("""
            INSERT INTO disputes (id, tenant_id, transaction_id, status, currency, amount_minor, data, created_at)
            VALUES (\(d.id), \(tenant), \(d.transaction), \(d.status.rawValue), \(d.currency), \(d.amountMinor),
                    \(try ZentraJSON.encodeString(d)), \(d.createdAt))
            """)
    }

    public func lockedDispute(_ id: DisputeID) async throws -> Dispute? {
        try await stored("disputes", id, columns: "data, settlement_id", forUpdate: true, decode: decodeDispute)
    }

    public func updateDispute(_ d: Dispute) async throws {
        try await sql.execute("""
            UPDATE disputes SET status = \(d.status.rawValue), data = \(try ZentraJSON.encodeString(d)) WHERE tenant_id = \(tenant) AND id = \(d.id)
            """)
    }
}

extension TenantScope {
    public func clearing(_ id: ClearingID) async throws -> Clearing? {
        try await stored("clearings", id, columns: "data, settlement_id", decode: decodeClearing)
    }

    public func clearings(_ request: PageRequest, status: ClearingStatus?) async throws -> Page<Clearing> {
        try await page(request, table: "clearings", columns: "data, settlement_id", filter: status.map { "status = \($0.rawValue)" },
                       decode: decodeClearing)
    }

    /// Every clearing of a transaction, or of a settlement batch, oldest first.
    public func clearings(transaction: TransactionID) async throws -> [Clearing] {
        try await all("clearings", where: "transaction_id", is: transaction.rawValue, decode: decodeClearing)
    }

    public func clearings(settlement: SettlementID) async throws -> [Clearing] {
        try await all("clearings", where: "settlement_id", is: settlement.rawValue, decode: decodeClearing)
    }

    public func transaction(_ id: TransactionID) async throws -> CardTransaction? {
        try await stored("transactions", id)
    }

    public func transactions(_ request: PageRequest, card: CardID?) async throws -> Page<CardTransaction> {
        try await page(request, table: "transactions", columns: "data", filter: card.map { "card_id = \($0)" }) { try $0.json("data") }
    }

    public func reconciliationCase(_ id: ReconciliationCaseID) async throws -> ReconciliationCase? {
        try await stored("reconciliation_cases", id)
    }

    public func reconciliationCases(_ request: PageRequest, status: ReconciliationStatus?) async throws -> Page<ReconciliationCase> {
        try await page(request, table: "reconciliation_cases", columns: "data", filter: status.map { "status = \($0.rawValue)" }) {
            try $0.json("data")
        }
    }

    public func settlement(_ id: SettlementID) async throws -> Settlement? {
        try await stored("settlements", id)
    }

    public func settlements(_ request: PageRequest) async throws -> Page<Settlement> {
        try await page(request, table: "settlements", columns: "data") { try $0.json("data") }
    }

    public func dispute(_ id: DisputeID) async throws -> Dispute? {
        try await stored("disputes", id, columns: "data, settlement_id", decode: decodeDispute)
    }

    public func disputes(_ request: PageRequest, transaction: TransactionID?) async throws -> Page<Dispute> {
        try await page(request, table: "disputes", columns: "data, settlement_id", filter: transaction.map { "transaction_id = \($0)" },
                       decode: decodeDispute)
    }

    /// Disputes still waiting for an outcome (opened or submitted), newest first: the console's queue.
    public func openDisputes(_ request: PageRequest) async throws -> Page<Dispute> {
        try await page(request, table: "disputes", columns: "data, settlement_id", filter: "status IN ('opened', 'submitted')",
                       decode: decodeDispute)
    }

    public func disputes(transaction: TransactionID) async throws -> [Dispute] {
        try await all("disputes", where: "transaction_id", is: transaction.rawValue, decode: decodeDispute)
    }

    public func disputes(settlement: SettlementID) async throws -> [Dispute] {
        try await all("disputes", where: "settlement_id", is: settlement.rawValue, decode: decodeDispute)
    }

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
    private func all<T>(_ table: String, where column: String, is value: String, decode: (SQLRow) throws -> T) async throws -> [T] {
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
