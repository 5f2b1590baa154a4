import ZentraCore

/// The ledger: its accounts and their kept totals, journal entries and their lines.
public struct LedgerRepository<Scope: TenantScope>: AggregateRepository {
    let base: Scope
}

extension TenantScope {
    public var ledger: LedgerRepository<Self> { LedgerRepository(base: self) }
}

extension LedgerRepository where Scope == WriteTransaction {
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
    public func systemAccount(_ purpose: LedgerAccountPurpose, currency: Currency) async throws -> LedgerAccountID {
        precondition(purpose.isSystem, "only system purposes have one account per tenant and currency")
        let key = purpose.systemKey(currency)
        if let cached = base.cachedSystemAccount(key) { return cached }
        if let row = try await sql.queryOne("SELECT id FROM ledger_accounts WHERE tenant_id = \(tenant) AND system_key = \(key)") {
            let id: LedgerAccountID = try row.id("id")
            base.cacheSystemAccount(key, id)
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
    public func existingSystemAccount(_ purpose: LedgerAccountPurpose, currency: Currency) async throws -> LedgerAccountID? {
        try await sql.queryOne("SELECT id FROM ledger_accounts WHERE tenant_id = \(tenant) AND system_key = \(purpose.systemKey(currency))")
            .map { try $0.id("id") }
    }

    /// Writes a balanced journal entry: a book of its accounts (`book(_:)`), the entry posted in
    /// it, the book written.
    @discardableResult
    public func post(_ draft: JournalEntryDraft, intent: IntentID?) async throws -> JournalEntry {
        var book = try await self.book(Set(draft.postings.map(\.account)))
        let entry = try book.post(draft, intent: intent)
        try await write(book)
        return entry
    }

    /// The totals of `accounts`, locked: a card's accounts through its state row (cards in id order),
    /// then every other account's own row, in id order (one lock order).
    public func book(_ accounts: Set<LedgerAccountID>) async throws -> LedgerBook {
        guard !accounts.isEmpty else { return LedgerBook(ids: base.ids, now: now) }
        let ids = accounts.sorted()
        let rows = try await sql.query("SELECT id, currency, purpose, owner_id FROM ledger_accounts WHERE " + SQL.rows(ids, ofTenant: tenant))
        var book = LedgerBook(ids: base.ids, now: now)
        var others: [LedgerAccountID] = []
        for row in rows {
            let id: LedgerAccountID = try row.id("id")
            let account = LedgerBook.Account(currency: try row.currency("currency"), purpose: try row.enumValue("purpose"),
                                             owner: try row.string("owner_id"))
            book.accounts[id] = account
            if !account.purpose.isCard { others.append(id) }
        }
        for id in ids where book.accounts[id] == nil { throw DomainError.invariantViolated("posting to unknown ledger account \(id)") }
        let cards = Set(book.accounts.values.filter(\.purpose.isCard).map(\.owner)).sorted()
        if !cards.isEmpty {
            let rows = try await sql.query("""
                SELECT card_id, available_debits, available_credits, reserved_debits, reserved_credits FROM card_state
                WHERE tenant_id = \(tenant) AND card_id IN (
                """ + SQL.joined(cards.map { "\($0)" }, separator: ", ") + ") ORDER BY card_id" + SQL.forUpdate)
            for row in rows {
                book.cards[try row.string("card_id")] = LedgerBook.CardTotals(
                    available: LedgerBook.Totals(debits: try row.int("available_debits"), credits: try row.int("available_credits")),
                    reserved: LedgerBook.Totals(debits: try row.int("reserved_debits"), credits: try row.int("reserved_credits")))
            }
        }
        if !others.isEmpty {
            let rows = try await sql.query("SELECT id, debits_minor, credits_minor FROM ledger_accounts WHERE "
                + SQL.rows(others.sorted(), ofTenant: tenant) + " ORDER BY id" + SQL.forUpdate)
            for row in rows {
                book.others[try row.id("id")] = LedgerBook.Totals(debits: try row.int("debits_minor"), credits: try row.int("credits_minor"))
            }
        }
        for id in ids where book.totals(id) == nil { throw DomainError.invariantViolated("ledger account \(id) has no totals") }
        return book
    }

    /// Writes what `book` posted, each table once: the cards' state rows and the other accounts'
    /// totals it changed, the journal entries and their lines (on PostgreSQL in one round trip).
    public func write(_ book: LedgerBook) async throws {
        guard !book.entries.isEmpty else { return }
        var cards = BulkRows("card_state", ["tenant_id", "card_id", "available_debits", "available_credits", "reserved_debits", "reserved_credits"]
            .enumerated().map { BulkRows.Column($1, $0 < 2 ? .text : .bigint) })
        for card in book.changedCards.sorted() {
            guard let t = book.cards[card] else { continue }
            cards.append([tenant.sqlValue, .text(card), .int(t.available.debits), .int(t.available.credits), .int(t.reserved.debits),
                          .int(t.reserved.credits)])
        }
        var others = BulkRows("ledger_accounts", [.init("tenant_id", .text), .init("id", .text), .init("debits_minor", .bigint),
                                                  .init("credits_minor", .bigint)])
        for id in book.changedOthers.sorted() {
            guard let t = book.others[id] else { continue }
            others.append([tenant.sqlValue, id.sqlValue, .int(t.debits), .int(t.credits)])
        }
        var entries = BulkRows.journalEntries
        var lines = BulkRows.ledgerEntries
        for entry in book.entries {
            entries.append([entry.id.sqlValue, tenant.sqlValue, .text(entry.description), entry.intent.sqlValue, entry.createdAt.sqlValue])
            for line in entry.entries {
                lines.append([line.id.sqlValue, tenant.sqlValue, entry.id.sqlValue, line.ledgerAccount.sqlValue,
                              .text(book.accounts[line.ledgerAccount]?.owner ?? line.ledgerAccount.rawValue), .text(line.direction.rawValue),
                              .int(line.amountMinor), line.currency.sqlValue, line.createdAt.sqlValue])
            }
        }
        switch sql.dialect {
        case .postgres:
            var parts: [SQL] = []
            if !cards.isEmpty { parts.append(try cards.updateStatement(keys: 2)) }
            if !others.isEmpty { parts.append(try others.updateStatement(keys: 2)) }
            parts += [try entries.insertStatement(), try lines.insertStatement()]
            try await sql.execute(SQL.together(parts)!)
        case .sqlite:
            try await sql.update(cards, keys: 2)
            try await sql.update(others, keys: 2)
            try await sql.insert(entries)
            try await sql.insert(lines)
        }
    }
}

/// Journal entries posted together: the totals of the accounts they touch, read and locked once
/// (`tx.ledger.book`), changed in memory entry by entry, written once
/// (`tx.ledger.write(_:)`). A card's two accounts keep their totals on the card's state row.
public struct LedgerBook: Sendable {
    struct Account: Sendable {
        let currency: Currency
        let purpose: LedgerAccountPurpose
        /// What the account's lines are indexed under (`owner_id`).
        let owner: String
    }

    struct Totals: Sendable {
        var debits: Int64
        var credits: Int64
    }

    struct CardTotals: Sendable {
        var available: Totals
        var reserved: Totals
    }

    let ids: any IDGenerator
    let now: Timestamp
    var accounts: [LedgerAccountID: Account] = [:]
    var cards: [String: CardTotals] = [:]
    var others: [LedgerAccountID: Totals] = [:]
    private(set) var changedCards: Set<String> = []
    private(set) var changedOthers: Set<LedgerAccountID> = []
    /// What was posted, in order.
    public private(set) var entries: [JournalEntry] = []

    init(ids: any IDGenerator, now: Timestamp) {
        self.ids = ids
        self.now = now
    }

    func totals(_ id: LedgerAccountID) -> Totals? {
        guard let account = accounts[id] else { return nil }
        guard account.purpose.isCard else { return others[id] }
        return cards[account.owner].map { account.purpose == .cardAvailable ? $0.available : $0.reserved }
    }

    /// The account's balance as posted so far (in its normal direction).
    public func balance(_ id: LedgerAccountID) throws -> Int64 {
        guard let account = accounts[id], let totals = totals(id) else {
            throw DomainError.invariantViolated("ledger account \(id) is not in this book")
        }
        return try account.purpose.normalBalance.balance(debits: totals.debits, credits: totals.credits)
    }

    /// Posts a balanced entry in memory, or changes nothing: an account outside the book, a posting
    /// in another currency than its account's, an overflow or an overdrawn account is refused
    /// (a broken invariant).
    public mutating func post(_ draft: JournalEntryDraft, intent: IntentID?) throws -> JournalEntry {
        var changed: [LedgerAccountID: Totals] = [:]
        for id in Set(draft.postings.map(\.account)).sorted() {
            guard let account = accounts[id], var totals = totals(id) else {
                throw DomainError.invariantViolated("posting to ledger account \(id), which is not in this book")
            }
            for posting in draft.postings where posting.account == id && posting.amount.currency != account.currency {
                throw DomainError.invariantViolated("posting in \(posting.amount.currency) to a ledger account in another currency")
            }
            let change = try draft.totals(for: id)
            totals.debits = try MinorUnits.add(totals.debits, change.debits)
            totals.credits = try MinorUnits.add(totals.credits, change.credits)
            let balance = try account.purpose.normalBalance.balance(debits: totals.debits, credits: totals.credits)
            guard account.purpose.mayGoNegative || balance >= 0 else {
                throw DomainError.invariantViolated("posting would overdraw \(account.purpose.rawValue) ledger account \(id)")
            }
            changed[id] = totals
        }
        for (id, totals) in changed {
            let account = accounts[id]!
            switch account.purpose {
            case .cardAvailable: cards[account.owner]!.available = totals; changedCards.insert(account.owner)
            case .cardReserved: cards[account.owner]!.reserved = totals; changedCards.insert(account.owner)
            default: others[id] = totals; changedOthers.insert(id)
            }
        }
        let entryID: JournalEntryID = ids.next(JournalEntryKind.self)
        let lines = draft.postings.map { posting in
            LedgerEntry(id: ids.next(LedgerEntryKind.self), journalEntry: entryID, ledgerAccount: posting.account, direction: posting.direction,
                        amountMinor: posting.amount.minor, currency: posting.amount.currency, createdAt: now)
        }
        let entry = JournalEntry(id: entryID, description: draft.description, entries: lines, intent: intent, createdAt: now)
        entries.append(entry)
        return entry
    }
}

extension LedgerRepository where Scope == WriteTransaction {
    /// The balance of a ledger account, row-locked until commit: what a money check reads so that no
    /// concurrent unit of work can spend the same money. Not for a card's accounts, whose totals are
    /// on the card's state row (`tx.cards.locked`).
    public func lockedBalance(_ id: LedgerAccountID) async throws -> Int64 {
        guard let row = try await sql.queryOne(
            "SELECT debits_minor, credits_minor, purpose FROM ledger_accounts WHERE tenant_id = \(tenant) AND id = \(id)" + SQL.forUpdate)
        else { throw DomainError.invariantViolated("unknown ledger account \(id)") }
        let purpose: LedgerAccountPurpose = try row.enumValue("purpose")
        return try purpose.normalBalance.balance(debits: try row.int("debits_minor"), credits: try row.int("credits_minor"))
    }
}

extension LedgerRepository {
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

    public func accounts(_ request: PageRequest) async throws -> Page<LedgerAccount> {
        try await base.page(request, table: "ledger_accounts", select: Self.ledgerAccountSelect, alias: "a", decode: decodeLedgerAccount)
    }

    public func account(_ id: LedgerAccountID) async throws -> LedgerAccount? {
        try await sql.queryOne("\(raw: Self.ledgerAccountSelect) WHERE a.tenant_id = \(tenant) AND a.id = \(id)").map(decodeLedgerAccount)
    }

    /// Every ledger account of the tenant with its kept totals (verification).
    func allLedgerAccounts() async throws -> [LedgerAccount] {
        try await sql.query("\(raw: Self.ledgerAccountSelect) WHERE a.tenant_id = \(tenant)").map(decodeLedgerAccount)
    }

    /// Lines are indexed by their account's owner; an account's lines are its owner's, filtered.
    public func entries(of account: LedgerAccountID, _ request: PageRequest) async throws -> Page<LedgerEntry> {
        guard let owner = try await sql.queryOne("SELECT owner_id FROM ledger_accounts WHERE tenant_id = \(tenant) AND id = \(account)")
        else { return Page(data: [], hasMore: false) }
        return try await base.page(request, table: "ledger_entries", columns: "*",
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
    public func trialBalance() async throws -> [String: (debits: Int64, credits: Int64)] {
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
