import ZentraCore

extension AccountRepository {
    public func deposit(reference: String) async throws -> Deposit? {
        try await sql.queryOne(
            "SELECT * FROM deposits WHERE tenant_id = \(tenant) AND transaction_reference = \(reference)"
        ).map(decodeDeposit)
    }

    func decodeDeposit(_ row: SQLRow) throws -> Deposit {
        Deposit(id: try row.id("id"), account: try row.id("account_id"), amountMinor: try row.int("amount_minor"),
                currency: try row.currency("currency"), transactionReference: try row.string("transaction_reference"),
                journalEntry: try row.id("journal_entry_id"), intent: try row.id("intent_id"),
                createdAt: try row.timestamp("created_at"))
    }
}

extension AccountRepository where Scope == WriteTransaction {
    public func insertDeposit(_ deposit: Deposit) async throws {
        try await sql.execute("""
            INSERT INTO deposits (id, tenant_id, account_id, amount_minor, currency, transaction_reference, journal_entry_id,
                                  intent_id, created_at)
            VALUES (\(deposit.id), \(tenant), \(deposit.account), \(deposit.amountMinor), \(deposit.currency),
                    \(deposit.transactionReference), \(deposit.journalEntry), \(deposit.intent), \(deposit.createdAt))
            """)
    }
}
