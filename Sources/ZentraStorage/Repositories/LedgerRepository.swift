import ZentraCore

extension WriteTransaction {
    func insertLedgerAccount(
        name: String, purpose: LedgerAccountPurpose, currency: Currency, account: AccountID?, systemKey: String? = nil
    ) async throws -> LedgerAccountID {
        let id: LedgerAccountID = newID()
        try await sql.execute("""
            INSERT INTO ledger_accounts (id, tenant_id, name, purpose, currency, account_id, system_key, created_at)
            VALUES (\(id), \(tenant), \(name), \(purpose), \(currency), \(account), \(systemKey), \(now))
            """)
        return id
    }

    /// The tenant's system account for `purpose` in `currency`, created on first use.
    public func systemLedgerAccount(_ purpose: LedgerAccountPurpose, currency: Currency) async throws -> LedgerAccountID {
        precondition(purpose.isSystem, "only system purposes have one account per tenant and currency")
        let key = purpose.systemKey(currency)
        if let cached = cachedSystemAccount(key) { return cached }
        if let row = try await sql.queryOne("SELECT id FROM ledger_accounts WHERE tenant_id = \(tenant) AND system_key = \(key)") {
            let id: LedgerAccountID = try row.id("id")
            cacheSystemAccount(key, id)
            return id
        }
        let id: LedgerAccountID = newID()
        try await sql.execute("""
            INSERT INTO ledger_accounts (id, tenant_id, name, purpose, currency, system_key, created_at)
            VALUES (\(id), \(tenant), \("\(purpose.rawValue) \(currency.code)"), \(purpose), \(currency), \(key), \(now))
            ON CONFLICT (tenant_id, system_key) DO NOTHING
            """)
        // A concurrent unit of work may have created it first; either way this one exists now.
        guard let row = try await sql.queryOne("SELECT id FROM ledger_accounts WHERE tenant_id = \(tenant) AND system_key = \(key)")
        else { throw StoreError.retryable("system ledger account \(key) not visible yet") }
        return try row.id("id")
    }

    /// The system ledger account for `purpose` and `currency` if it exists (never creates one).
    public func existingSystemLedgerAccount(_ purpose: LedgerAccountPurpose, currency: Currency) async throws -> LedgerAccountID? {
        try await sql.queryOne("SELECT id FROM ledger_accounts WHERE tenant_id = \(tenant) AND system_key = \(purpose.systemKey(currency))")
            .map { try $0.id("id") }
    }

    /// Writes a balanced journal entry: locks its accounts in id order (no deadlocks between two
    /// entries), checks currencies and overflow, updates the totals and inserts the immutable lines.
    @discardableResult
    public func post(_ draft: JournalEntryDraft, intent: IntentID?) async throws -> JournalEntry {
        let accountIDs = Array(Set(draft.postings.map(\.account))).sorted()
        var totals: [LedgerAccountID: (debits: Int64, credits: Int64, currency: Currency, purpose: LedgerAccountPurpose)] = [:]
        // One statement locks every account of the entry, in id order (rows are locked as the sort emits them).
        let rows = try await sql.query("""
            SELECT id, debits_minor, credits_minor, currency, purpose FROM ledger_accounts
            WHERE tenant_id = \(tenant) AND id IN (
            """ + SQL.joined(accountIDs.map { "\($0)" }, separator: ", ") + ") ORDER BY id" + SQL.forUpdate)
        for row in rows {
            totals[try row.id("id")] = (try row.int("debits_minor"), try row.int("credits_minor"), try row.currency("currency"), try row.enumValue("purpose"))
        }
        for id in accountIDs where totals[id] == nil {
            throw DomainError.invariantViolated("posting to unknown ledger account \(id)")
        }
        for posting in draft.postings where totals[posting.account]?.currency != posting.amount.currency {
            throw DomainError.invariantViolated("posting in \(posting.amount.currency) to a ledger account in another currency")
        }
        var updated: [SQL] = []
        for id in accountIDs {
            let change = try draft.totals(for: id)
            let current = totals[id]!
            let debits = try MinorUnits.add(current.debits, change.debits)
            let credits = try MinorUnits.add(current.credits, change.credits)
            let balance = try current.purpose.normalBalance.balance(debits: debits, credits: credits)
            guard current.purpose.mayGoNegative || balance >= 0 else {
                throw DomainError.invariantViolated("posting would overdraw \(current.purpose.rawValue) ledger account \(id)")
            }
            updated.append("SELECT \(id) AS id, \(debits) AS debits, \(credits) AS credits")
        }
        try await sql.execute("""
            UPDATE ledger_accounts SET debits_minor = v.debits, credits_minor = v.credits
            FROM (
            """ + SQL.joined(updated, separator: " UNION ALL ") + """
            ) AS v WHERE ledger_accounts.tenant_id = \(tenant) AND ledger_accounts.id = v.id
            """)
        let entryID: JournalEntryID = newID()
        var lines: [LedgerEntry] = []
        for posting in draft.postings {
            let line = LedgerEntry(id: newID(), journalEntry: entryID, ledgerAccount: posting.account, direction: posting.direction,
                                   amountMinor: posting.amount.minor, currency: posting.amount.currency, createdAt: now)
            lines.append(line)
        }
        let entry: SQL = """
            INSERT INTO journal_entries (id, tenant_id, description, intent_id, created_at)
            VALUES (\(entryID), \(tenant), \(draft.description), \(intent), \(now))
            """
        let entryLines: SQL = """
            INSERT INTO ledger_entries (id, tenant_id, journal_entry_id, ledger_account_id, direction, amount_minor, currency, created_at)
            VALUES
            """ + SQL.joined(lines.map { line in
                "(\(line.id), \(tenant), \(entryID), \(line.ledgerAccount), \(line.direction), \(line.amountMinor), \(line.currency), \(now))"
            }, separator: ", ")
        switch sql.dialect {
        case .postgres: try await sql.execute("WITH entry AS (" + entry + ") " + entryLines)
        case .sqlite:
            try await sql.execute(entry)
            try await sql.execute(entryLines)
        }
        return JournalEntry(id: entryID, description: draft.description, entries: lines, intent: intent, createdAt: now)
    }
}

extension WriteTransaction {
    /// The balance of a ledger account, row-locked until commit: what a money check reads so that no
    /// concurrent unit of work can spend the same money.
    public func lockedBalance(_ id: LedgerAccountID) async throws -> Int64 {
        guard let row = try await sql.queryOne(
            "SELECT debits_minor, credits_minor, purpose FROM ledger_accounts WHERE tenant_id = \(tenant) AND id = \(id)" + SQL.forUpdate)
        else { throw DomainError.invariantViolated("unknown ledger account \(id)") }
        let purpose: LedgerAccountPurpose = try row.enumValue("purpose")
        return try purpose.normalBalance.balance(debits: try row.int("debits_minor"), credits: try row.int("credits_minor"))
    }
}

extension TenantScope {
    public func ledgerAccounts(_ request: PageRequest) async throws -> Page<LedgerAccount> {
        try await page(request, table: "ledger_accounts", columns: "*", decode: decodeLedgerAccount)
    }

    public func ledgerAccount(_ id: LedgerAccountID) async throws -> LedgerAccount? {
        try await sql.queryOne("SELECT * FROM ledger_accounts WHERE tenant_id = \(tenant) AND id = \(id)").map(decodeLedgerAccount)
    }

    public func ledgerEntries(of account: LedgerAccountID, _ request: PageRequest) async throws -> Page<LedgerEntry> {
        try await page(request, table: "ledger_entries", columns: "*", filter: "ledger_account_id = \(account)", decode: decodeLedgerEntry)
    }

    public func journalEntry(_ id: JournalEntryID) async throws -> JournalEntry? {
        guard let head = try await sql.queryOne("SELECT * FROM journal_entries WHERE tenant_id = \(tenant) AND id = \(id)") else { return nil }
        let lines = try await sql.query(
            "SELECT * FROM ledger_entries WHERE tenant_id = \(tenant) AND journal_entry_id = \(id) ORDER BY direction DESC, id")
        return JournalEntry(id: id, description: try head.string("description"), entries: try lines.map(decodeLedgerEntry),
                            intent: try head.optionalID("intent_id"), createdAt: try head.timestamp("created_at"))
    }

    /// Journal entries in the order of `ids` (evidence); an id named twice is listed once.
    public func journalEntries(_ ids: [JournalEntryID]) async throws -> [JournalEntry] {
        var seen = Set<JournalEntryID>()
        var entries: [JournalEntry] = []
        for id in ids where seen.insert(id).inserted {
            if let entry = try await journalEntry(id) { entries.append(entry) }
        }
        return entries
    }

    /// Per currency: the sum of every debit and every credit of the tenant, from the lines
    /// themselves, not the kept totals. They must be equal.
    public func ledgerTrialBalance() async throws -> [String: (debits: Int64, credits: Int64)] {
        let rows = try await sql.query("""
            SELECT currency, direction, CAST(SUM(amount_minor) AS BIGINT) AS total FROM ledger_entries
            WHERE tenant_id = \(tenant) GROUP BY currency, direction
            """)
        var result: [String: (debits: Int64, credits: Int64)] = [:]
        for row in rows {
            let currency = try row.string("currency")
            var totals = result[currency, default: (0, 0)]
            if try row.string("direction") == "debit" { totals.debits = try row.int("total") } else { totals.credits = try row.int("total") }
            result[currency] = totals
        }
        return result
    }

    func decodeLedgerAccount(_ row: SQLRow) throws -> LedgerAccount {
        try LedgerAccount(id: try row.id("id"), name: try row.string("name"), kind: try row.enumValue("purpose"),
                          currency: try row.currency("currency"), account: try row.optionalID("account_id"),
                          debitsMinor: try row.int("debits_minor"), creditsMinor: try row.int("credits_minor"))
    }

    func decodeLedgerEntry(_ row: SQLRow) throws -> LedgerEntry {
        LedgerEntry(id: try row.id("id"), journalEntry: try row.id("journal_entry_id"), ledgerAccount: try row.id("ledger_account_id"),
                    direction: try row.enumValue("direction"), amountMinor: try row.int("amount_minor"),
                    currency: try row.currency("currency"), createdAt: try row.timestamp("created_at"))
    }
}

extension LedgerAccountPurpose {
    /// How a tenant's one system account of this purpose in `currency` is found.
    func systemKey(_ currency: Currency) -> String { "\(rawValue):\(currency.code)" }
}
