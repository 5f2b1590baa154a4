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

extension LedgerRepository {
    public func verify() async throws -> LedgerVerification {
        let currencies = try await trialBalance().sorted { $0.key < $1.key }.map { currency, totals in
            LedgerVerification.CurrencyTotals(currency: currency, debitsMinor: totals.debits, creditsMinor: totals.credits,
                                              balanced: totals.debits == totals.credits)
        }
        // Kept totals against the sums of the lines, per account.
        let accounts = try await allLedgerAccounts()
        var posted: [LedgerAccountID: (debits: Int64, credits: Int64)] = [:]
        for row in try await sql.query("""
            SELECT ledger_account_id,
                   CAST(SUM(CASE WHEN direction = 'debit' THEN amount_minor ELSE 0 END) AS BIGINT) AS posted_debits,
                   CAST(SUM(CASE WHEN direction = 'credit' THEN amount_minor ELSE 0 END) AS BIGINT) AS posted_credits
            FROM ledger_entries WHERE tenant_id = \(tenant) GROUP BY ledger_account_id
            """) {
            posted[try row.id("ledger_account_id")] = (try row.int("posted_debits"), try row.int("posted_credits"))
        }
        var mismatches: [LedgerVerification.AccountMismatch] = []
        var overdrawn: [LedgerAccountID] = []
        for account in accounts {
            let kept = (account.debitsMinor, account.creditsMinor)
            let lines = posted[account.id] ?? (0, 0)
            if kept != lines {
                mismatches.append(.init(account: account.id, keptDebitsMinor: kept.0, keptCreditsMinor: kept.1,
                                        postedDebitsMinor: lines.0, postedCreditsMinor: lines.1))
            }
            if !account.kind.mayGoNegative, try account.kind.normalBalance.balance(debits: lines.0, credits: lines.1) < 0 {
                overdrawn.append(account.id)
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
