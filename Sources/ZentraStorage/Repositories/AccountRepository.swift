import ZentraCore

/// Customer accounts (wallets) with their two ledger balances, and the deposits into them.
public struct AccountRepository<Scope: TenantScope>: AggregateRepository {
    let base: Scope
}

extension TenantScope {
    public var accounts: AccountRepository<Self> { AccountRepository(base: self) }
}

extension AccountRepository {
    /// Account columns with its two ledger balances, read in one statement so they agree.
    private static var accountSelect: String {
        """
        SELECT a.*, av.debits_minor AS av_debits, av.credits_minor AS av_credits,
               rs.debits_minor AS rs_debits, rs.credits_minor AS rs_credits
        FROM accounts a
        JOIN ledger_accounts av ON av.id = a.available_ledger_account_id
        JOIN ledger_accounts rs ON rs.id = a.reserved_ledger_account_id
        """
    }

    public func find(_ id: AccountID) async throws -> Account? {
        try await sql.queryOne("\(raw: Self.accountSelect) WHERE a.tenant_id = \(tenant) AND a.id = \(id)").map(decodeAccount)
    }

    public func require(_ id: AccountID, param: String? = nil) async throws -> Account {
        guard let account = try await find(id) else {
            throw DomainError.resourceMissing("account", id: id.rawValue, param: param)
        }
        return account
    }

    public func list(_ request: PageRequest) async throws -> Page<Account> {
        try await base.page(request, table: "accounts", select: Self.accountSelect, alias: "a", decode: decodeAccount)
    }

    func decodeAccount(_ row: SQLRow) throws -> Account {
        let available = try LedgerAccountPurpose.customerAvailable.normalBalance.balance(
            debits: try row.int("av_debits"), credits: try row.int("av_credits"))
        let reserved = try LedgerAccountPurpose.customerReserved.normalBalance.balance(
            debits: try row.int("rs_debits"), credits: try row.int("rs_credits"))
        return try Account(
            id: try row.id("id"), customer: try row.id("customer_id"), currency: try row.currency("currency"),
            kind: try row.enumValue("kind"), availableMinor: available, reservedMinor: reserved,
            ledgerAccounts: .init(available: try row.id("available_ledger_account_id"),
                                  reserved: try row.id("reserved_ledger_account_id")),
            createdAt: try row.timestamp("created_at"))
    }
}

extension AccountRepository where Scope == WriteTransaction {
    /// Creates an account and its two ledger accounts.
    public func insert(id: AccountID, customer: CustomerID, currency: Currency, kind: AccountType) async throws -> Account {
        let available = try await base.ledger.insertLedgerAccount(
            name: "\(id.rawValue) available", purpose: .customerAvailable, currency: currency, account: id, owner: id.rawValue)
        let reserved = try await base.ledger.insertLedgerAccount(
            name: "\(id.rawValue) reserved", purpose: .customerReserved, currency: currency, account: id, owner: id.rawValue)
        try await sql.execute("""
            INSERT INTO accounts (id, tenant_id, customer_id, currency, kind, available_ledger_account_id,
                                  reserved_ledger_account_id, created_at)
            VALUES (\(id), \(tenant), \(customer), \(currency), \(kind), \(available), \(reserved), \(now))
            """)
        return try Account(id: id, customer: customer, currency: currency, kind: kind, availableMinor: 0, reservedMinor: 0,
                           ledgerAccounts: .init(available: available, reserved: reserved), createdAt: now)
    }
}
