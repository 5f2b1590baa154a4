import ZentraCore

/// The ledger's invariants, checked from the immutable lines rather than trusted: per currency the
/// debits equal the credits, every journal entry balances per currency, every account's kept
/// totals equal the sum of its lines, and no customer or card account is below zero.
public struct LedgerVerification: Sendable, Encodable {
    public let tenant: TenantID
    public let ok: Bool
    public let currencies: [CurrencyTotals]
    public let accountsChecked: Int64
    public let journalEntriesChecked: Int64
    public let accountMismatches: [AccountMismatch]
    public let unbalancedEntries: [UnbalancedEntry]
    public let overdrawnAccounts: [LedgerAccountID]

    public struct CurrencyTotals: Sendable, Encodable {
        public let currency: String
        public let debitsMinor: Int64
        public let creditsMinor: Int64
        public let balanced: Bool
    }

    public struct AccountMismatch: Sendable, Encodable {
        public let account: LedgerAccountID
        public let keptDebitsMinor: Int64
        public let keptCreditsMinor: Int64
        public let postedDebitsMinor: Int64
        public let postedCreditsMinor: Int64
    }

    public struct UnbalancedEntry: Sendable, Encodable {
        public let journalEntry: JournalEntryID
        public let currency: String
        public let offByMinor: Int64
    }

    /// Every tenant's id, for checking a whole database.
    public static func tenants(store: Store) async throws -> [TenantID] {
        try await store.engine.withReader { sql in try await sql.query("SELECT id FROM tenants ORDER BY id").map { try $0.id("id") } }
    }
}

extension TenantScope {
    public func verifyLedger() async throws -> LedgerVerification {
        let currencies = try await ledgerTrialBalance().sorted { $0.key < $1.key }.map { currency, totals in
            LedgerVerification.CurrencyTotals(currency: currency, debitsMinor: totals.debits, creditsMinor: totals.credits,
                                              balanced: totals.debits == totals.credits)
        }
        let accounts = try await sql.query("""
            SELECT a.id, a.purpose, a.debits_minor, a.credits_minor,
                   CAST(COALESCE(SUM(CASE WHEN e.direction = 'debit' THEN e.amount_minor ELSE 0 END), 0) AS BIGINT) AS posted_debits,
                   CAST(COALESCE(SUM(CASE WHEN e.direction = 'credit' THEN e.amount_minor ELSE 0 END), 0) AS BIGINT) AS posted_credits
            FROM ledger_accounts a LEFT JOIN ledger_entries e ON e.tenant_id = a.tenant_id AND e.ledger_account_id = a.id
            WHERE a.tenant_id = \(tenant) GROUP BY a.id, a.purpose, a.debits_minor, a.credits_minor
            """)
        var mismatches: [LedgerVerification.AccountMismatch] = []
        var overdrawn: [LedgerAccountID] = []
        for row in accounts {
            let kept = (try row.int("debits_minor"), try row.int("credits_minor"))
            let posted = (try row.int("posted_debits"), try row.int("posted_credits"))
            if kept != posted {
                mismatches.append(.init(account: try row.id("id"), keptDebitsMinor: kept.0, keptCreditsMinor: kept.1,
                                        postedDebitsMinor: posted.0, postedCreditsMinor: posted.1))
            }
            let purpose: LedgerAccountPurpose = try row.enumValue("purpose")
            if !purpose.mayGoNegative, try purpose.normalBalance.balance(debits: posted.0, credits: posted.1) < 0 {
                overdrawn.append(try row.id("id"))
            }
        }
        let unbalanced = try await sql.query("""
            SELECT journal_entry_id, currency,
                   CAST(SUM(CASE WHEN direction = 'debit' THEN amount_minor ELSE -amount_minor END) AS BIGINT) AS off_by
            FROM ledger_entries WHERE tenant_id = \(tenant) GROUP BY journal_entry_id, currency
            HAVING SUM(CASE WHEN direction = 'debit' THEN amount_minor ELSE -amount_minor END) <> 0
            """).map { row in
            LedgerVerification.UnbalancedEntry(journalEntry: try row.id("journal_entry_id"), currency: try row.string("currency"),
                                               offByMinor: try row.int("off_by"))
        }
        let entryCount = try await sql.queryOne("SELECT COUNT(*) AS n FROM journal_entries WHERE tenant_id = \(tenant)")?.int("n") ?? 0
        return LedgerVerification(
            tenant: tenant, ok: currencies.allSatisfy(\.balanced) && mismatches.isEmpty && unbalanced.isEmpty && overdrawn.isEmpty,
            currencies: currencies, accountsChecked: Int64(accounts.count), journalEntriesChecked: entryCount, accountMismatches: mismatches,
            unbalancedEntries: unbalanced, overdrawnAccounts: overdrawn)
    }
}
