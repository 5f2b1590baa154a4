import ZentraCore

extension WriteTransaction {
    /// - Parameter owner: what the account's lines are indexed under: its card for a card's two
    ///   accounts, its customer account for a wallet's two, the account itself for a system account.
    func insertLedgerAccount(
        name: String, purpose: LedgerAccountPurpose, currency: Currency, account: AccountID?, owner: String, systemKey: String? = nil
    ) async throws -> LedgerAccountID {
        let id: LedgerAccountID = newID()
        try await sql.execute("""
            INSERT INTO ledger_accounts (id, tenant_id, name, purpose, currency, account_id, owner_id, system_key, created_at)
            VALUES (\(id), \(tenant), \(name), \(purpose), \(currency), \(account), \(owner), \(systemKey), \(now))
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
            INSERT INTO ledger_accounts (id, tenant_id, name, purpose, currency, owner_id, system_key, created_at)
            VALUES (\(id), \(tenant), \("\(purpose.rawValue) \(currency.code)"), \(purpose), \(currency), \(id), \(key), \(now))
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

    /// Writes a balanced journal entry: locks its accounts' totals (a card's two on the card's state
    /// row, cards first, then the other accounts in id order: one lock order), checks currencies and
    /// overflow, writes the new totals and inserts the immutable lines.
    @discardableResult
    public func post(_ draft: JournalEntryDraft, intent: IntentID?) async throws -> JournalEntry {
        let accountIDs = Array(Set(draft.postings.map(\.account))).sorted()
        let kept = try await lockedTotals(accountIDs)
        for posting in draft.postings where kept[posting.account]?.currency != posting.amount.currency {
            throw DomainError.invariantViolated("posting in \(posting.amount.currency) to a ledger account in another currency")
        }
        var updated: [LedgerAccountID: KeptTotals] = [:]
        for id in accountIDs {
            let change = try draft.totals(for: id)
            var totals = kept[id]!
            totals.debits = try MinorUnits.add(totals.debits, change.debits)
            totals.credits = try MinorUnits.add(totals.credits, change.credits)
            let balance = try totals.purpose.normalBalance.balance(debits: totals.debits, credits: totals.credits)
            guard totals.purpose.mayGoNegative || balance >= 0 else {
                throw DomainError.invariantViolated("posting would overdraw \(totals.purpose.rawValue) ledger account \(id)")
            }
            updated[id] = totals
        }
        try await writeTotals(updated)
        let entryID: JournalEntryID = newID()
        let lines = draft.postings.map { posting in
            LedgerEntry(id: newID(), journalEntry: entryID, ledgerAccount: posting.account, direction: posting.direction,
                        amountMinor: posting.amount.minor, currency: posting.amount.currency, createdAt: now)
        }
        let entry: SQL = """
            INSERT INTO journal_entries (id, tenant_id, description, intent_id, created_at)
            VALUES (\(entryID), \(tenant), \(draft.description), \(intent), \(now))
            """
        let entryLines: SQL = """
            INSERT INTO ledger_entries (id, tenant_id, journal_entry_id, ledger_account_id, owner_id, direction, amount_minor, currency,
                                        created_at)
            VALUES
            """ + SQL.joined(lines.map { line in
                "(\(line.id), \(tenant), \(entryID), \(line.ledgerAccount), \(kept[line.ledgerAccount]!.owner), \(line.direction), \(line.amountMinor), \(line.currency), \(now))"
            }, separator: ", ")
        switch sql.dialect {
        case .postgres: try await sql.execute("WITH entry AS (" + entry + ") " + entryLines)
        case .sqlite:
            try await sql.execute(entry)
            try await sql.execute(entryLines)
        }
        return JournalEntry(id: entryID, description: draft.description, entries: lines, intent: intent, createdAt: now)
    }

    /// An account's kept totals as `post` reads and writes them.
    struct KeptTotals {
        var debits: Int64
        var credits: Int64
        let currency: Currency
        let purpose: LedgerAccountPurpose
        let owner: String
    }

    /// The totals of `ids`, locked: a card's accounts through its state row (cards in id order),
    /// then every other account's own row, in id order.
    func lockedTotals(_ ids: [LedgerAccountID]) async throws -> [LedgerAccountID: KeptTotals] {
        let accounts = try await sql.query("SELECT id, currency, purpose, owner_id FROM ledger_accounts WHERE tenant_id = \(tenant) AND id IN ("
            + SQL.joined(ids.map { "\($0)" }, separator: ", ") + ")")
        var totals: [LedgerAccountID: KeptTotals] = [:]
        var byCard: [String: [(LedgerAccountID, LedgerAccountPurpose, Currency)]] = [:]
        var others: [LedgerAccountID: (LedgerAccountPurpose, Currency, String)] = [:]
        for row in accounts {
            let id: LedgerAccountID = try row.id("id")
            let purpose: LedgerAccountPurpose = try row.enumValue("purpose")
            let owner = try row.string("owner_id")
            if purpose.isCard { byCard[owner, default: []].append((id, purpose, try row.currency("currency"))) }
            else { others[id] = (purpose, try row.currency("currency"), owner) }
        }
        for id in ids where !byCard.values.contains(where: { $0.contains { $0.0 == id } }) && others[id] == nil {
            throw DomainError.invariantViolated("posting to unknown ledger account \(id)")
        }
        if !byCard.isEmpty {
            let rows = try await sql.query("""
                SELECT card_id, available_debits, available_credits, reserved_debits, reserved_credits FROM card_state
                WHERE tenant_id = \(tenant) AND card_id IN (
                """ + SQL.joined(byCard.keys.sorted().map { "\($0)" }, separator: ", ") + ") ORDER BY card_id" + SQL.forUpdate)
            for row in rows {
                let card = try row.string("card_id")
                for (id, purpose, currency) in byCard[card] ?? [] {
                    let side = purpose == .cardAvailable ? "available" : "reserved"
                    totals[id] = KeptTotals(debits: try row.int("\(side)_debits"), credits: try row.int("\(side)_credits"),
                                            currency: currency, purpose: purpose, owner: card)
                }
            }
        }
        if !others.isEmpty {
            let rows = try await sql.query("SELECT id, debits_minor, credits_minor FROM ledger_accounts WHERE tenant_id = \(tenant) AND id IN ("
                + SQL.joined(others.keys.sorted().map { "\($0)" }, separator: ", ") + ") ORDER BY id" + SQL.forUpdate)
            for row in rows {
                let id: LedgerAccountID = try row.id("id")
                let (purpose, currency, owner) = others[id]!
                totals[id] = KeptTotals(debits: try row.int("debits_minor"), credits: try row.int("credits_minor"), currency: currency,
                                        purpose: purpose, owner: owner)
            }
        }
        for id in ids where totals[id] == nil { throw DomainError.invariantViolated("ledger account \(id) has no totals") }
        return totals
    }

    /// Writes new totals: each card's on its state row, the others' on their own rows.
    func writeTotals(_ totals: [LedgerAccountID: KeptTotals]) async throws {
        for (card, accounts) in Dictionary(grouping: totals.filter { $0.value.purpose.isCard }, by: \.value.owner).sorted(by: { $0.key < $1.key }) {
            var sets: [SQL] = []
            for (_, kept) in accounts {
                let side = kept.purpose == .cardAvailable ? "available" : "reserved"
                sets.append("\(raw: side)_debits = \(kept.debits), \(raw: side)_credits = \(kept.credits)")
            }
            try await sql.execute("UPDATE card_state SET " + SQL.joined(sets, separator: ", ")
                + " WHERE tenant_id = \(tenant) AND card_id = \(card)")
        }
        let others = totals.filter { !$0.value.purpose.isCard }.sorted { $0.key < $1.key }
        guard !others.isEmpty else { return }
        try await sql.execute("""
            UPDATE ledger_accounts SET debits_minor = v.debits, credits_minor = v.credits
            FROM (
            """ + SQL.joined(others.map { "SELECT \($0.key) AS id, \($0.value.debits) AS debits, \($0.value.credits) AS credits" },
                             separator: " UNION ALL ") + """
            ) AS v WHERE ledger_accounts.tenant_id = \(tenant) AND ledger_accounts.id = v.id
            """)
    }
}

extension WriteTransaction {
    /// The balance of a ledger account, row-locked until commit: what a money check reads so that no
    /// concurrent unit of work can spend the same money. Not for a card's accounts, whose totals are
    /// on the card's state row (`lockedCard`).
    public func lockedBalance(_ id: LedgerAccountID) async throws -> Int64 {
        guard let row = try await sql.queryOne(
            "SELECT debits_minor, credits_minor, purpose FROM ledger_accounts WHERE tenant_id = \(tenant) AND id = \(id)" + SQL.forUpdate)
        else { throw DomainError.invariantViolated("unknown ledger account \(id)") }
        let purpose: LedgerAccountPurpose = try row.enumValue("purpose")
        return try purpose.normalBalance.balance(debits: try row.int("debits_minor"), credits: try row.int("credits_minor"))
    }
}

extension TenantScope {
    /// Ledger accounts with their kept totals: a card's two accounts keep theirs on the card's state row.
    static var ledgerAccountSelect: String {
        """
        SELECT a.id, a.tenant_id, a.name, a.purpose, a.currency, a.account_id, a.owner_id, a.created_at,
               CASE a.purpose WHEN 'card_available' THEN s.available_debits WHEN 'card_reserved' THEN s.reserved_debits
                              ELSE a.debits_minor END AS debits_minor,
               CASE a.purpose WHEN 'card_available' THEN s.available_credits WHEN 'card_reserved' THEN s.reserved_credits
                              ELSE a.credits_minor END AS credits_minor
        FROM ledger_accounts a LEFT JOIN card_state s ON s.card_id = a.owner_id AND a.purpose IN ('card_available', 'card_reserved')
        """
    }

    public func ledgerAccounts(_ request: PageRequest) async throws -> Page<LedgerAccount> {
        try await page(request, table: "ledger_accounts", select: Self.ledgerAccountSelect, alias: "a", decode: decodeLedgerAccount)
    }

    public func ledgerAccount(_ id: LedgerAccountID) async throws -> LedgerAccount? {
        try await sql.queryOne("\(raw: Self.ledgerAccountSelect) WHERE a.tenant_id = \(tenant) AND a.id = \(id)").map(decodeLedgerAccount)
    }

    /// Every ledger account of the tenant with its kept totals (verification).
    func allLedgerAccounts() async throws -> [LedgerAccount] {
        try await sql.query("\(raw: Self.ledgerAccountSelect) WHERE a.tenant_id = \(tenant)").map(decodeLedgerAccount)
    }

    /// Lines are indexed by their account's owner; an account's lines are its owner's, filtered.
    public func ledgerEntries(of account: LedgerAccountID, _ request: PageRequest) async throws -> Page<LedgerEntry> {
        guard let owner = try await sql.queryOne("SELECT owner_id FROM ledger_accounts WHERE tenant_id = \(tenant) AND id = \(account)")
        else { return Page(data: [], hasMore: false) }
        return try await page(request, table: "ledger_entries", columns: "*",
                              filter: "owner_id = \(try owner.string("owner_id")) AND ledger_account_id = \(account)", decode: decodeLedgerEntry)
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
