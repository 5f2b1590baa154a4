import Synchronization
import ZentraCore

/// A card's state as a batch of decisions reads it, row-locked: the version of the card policy
/// sees, the ledger accounts its money is in, their totals and its spend counters (one narrow row,
/// `card_state`), and its tenant's time zone. Decisions on the card change it in memory, in arrival
/// order; the batch writes it once.
public struct CardState: Sendable {
    public let version: CardVersion
    public let availableAccount: LedgerAccountID
    public let reservedAccount: LedgerAccountID
    public private(set) var availableDebits: Int64
    public private(set) var availableCredits: Int64
    public private(set) var reservedDebits: Int64
    public private(set) var reservedCredits: Int64
    public var counters: SpendCounters
    public let timeZone: String

    /// What the card can spend: its available account's balance (a credit-normal liability).
    public var availableMinor: Int64 { availableCredits - availableDebits }

    /// Posts a balanced entry on this card's two accounts: overflow and overdraft are refused as
    /// broken invariants, as `post` refuses them.
    public mutating func apply(_ draft: JournalEntryDraft) throws {
        for posting in draft.postings where posting.account != availableAccount && posting.account != reservedAccount {
            throw DomainError.invariantViolated("a card entry posts to ledger account \(posting.account) of another card")
        }
        let available = try draft.totals(for: availableAccount)
        let reserved = try draft.totals(for: reservedAccount)
        availableDebits = try MinorUnits.add(availableDebits, available.debits)
        availableCredits = try MinorUnits.add(availableCredits, available.credits)
        reservedDebits = try MinorUnits.add(reservedDebits, reserved.debits)
        reservedCredits = try MinorUnits.add(reservedCredits, reserved.credits)
        guard availableCredits >= availableDebits, reservedCredits >= reservedDebits else {
            throw DomainError.invariantViolated("an entry would overdraw card \(version.card)")
        }
    }
}

/// The cards a batch asked for: their states, locked; the cards another transaction holds now
/// (PostgreSQL), whose decisions wait for a later transaction rather than for the lock.
public struct LockedCards: Sendable {
    public var states: [CardID: CardState]
    public let held: Set<CardID>
}

/// One decision as a batch writes it: its record, what the policy decided, and its hold's entry.
public struct DecisionWrite: Sendable {
    public let record: DecisionRecord
    public let decision: PolicyDecision
    public let hold: (id: JournalEntryID, draft: JournalEntryDraft)?

    public init(record: DecisionRecord, decision: PolicyDecision, hold: (id: JournalEntryID, draft: JournalEntryDraft)?) {
        self.record = record
        self.decision = decision
        self.hold = hold
    }
}

extension BatchTransaction {
    /// Which of these API keys are not revoked, read inside the transaction: a decision commits
    /// only under a key that is valid as it commits, wherever the key was looked up before.
    public func unrevokedKeys(_ ids: Set<String>) async throws -> Set<String> {
        guard !ids.isEmpty else { return [] }
        let rows = try await sql.query("SELECT id FROM api_keys WHERE revoked_at IS NULL AND id IN ("
            + SQL.joined(ids.sorted().map { "\($0)" }, separator: ", ") + ")")
        return Set(try rows.map { try $0.string("id") })
    }

    /// The cards' states, row-locked in id order (one global lock order). On PostgreSQL a card that
    /// another transaction holds is passed over (`SKIP LOCKED`) and named in `held`: a decision
    /// never waits on a lock, so it can never be part of a deadlock.
    public func lockCards(_ tenant: TenantID, _ ids: Set<CardID>) async throws -> LockedCards {
        let select: SQL = """
            SELECT s.card_id, s.version, s.available_debits, s.available_credits, s.reserved_debits, s.reserved_credits, s.day_key,
                   s.day_minor, s.week_key, s.week_minor, s.month_key, s.month_minor, s.lifetime_minor, v.status, v.spend_controls,
                   v.geofence_enabled, v.geofence_radius_km, c.last4, c.type, c.program_id, c.currency, c.exp_month, c.exp_year,
                   c.available_ledger_account_id, c.reserved_ledger_account_id, t.time_zone
            FROM card_state s JOIN card_versions v ON v.card_id = s.card_id AND v.version = s.version
                 JOIN cards c ON c.id = s.card_id JOIN tenants t ON t.id = s.tenant_id
            WHERE s.tenant_id = \(tenant) AND
            """
        var rows: [SQLRow] = []
        switch sql.dialect {
        case .postgres:
            rows = try await sql.query(select + " s.card_id = ANY(\(SQLValue.textArray(ids.sorted().map(\.rawValue))))"
                + " ORDER BY s.card_id FOR UPDATE OF s SKIP LOCKED")
        case .sqlite:
            let text = (select + " s.card_id = ?").render(.sqlite).text
            rows = try await sql.run(text, rows: ids.sorted().map { [tenant.sqlValue, $0.sqlValue] })
        }
        var states: [CardID: CardState] = [:]
        for row in rows {
            let id: CardID = try row.id("card_id")
            let version = CardVersion(
                card: id, version: try row.int("version"), status: try row.enumValue("status"), spendControls: try row.configuration("spend_controls"),
                geofenceEnabled: try row.bool("geofence_enabled"), geofenceRadiusKm: Int(try row.int("geofence_radius_km")),
                last4: try row.string("last4"), type: try row.enumValue("type"), program: try row.id("program_id"),
                currency: try row.currency("currency"), expMonth: Int(try row.int("exp_month")), expYear: Int(try row.int("exp_year")))
            states[id] = CardState(
                version: version, availableAccount: try row.id("available_ledger_account_id"),
                reservedAccount: try row.id("reserved_ledger_account_id"), availableDebits: try row.int("available_debits"),
                availableCredits: try row.int("available_credits"), reservedDebits: try row.int("reserved_debits"),
                reservedCredits: try row.int("reserved_credits"), counters: try scope(tenant).decodeSpendCounters(row),
                timeZone: try row.string("time_zone"))
        }
        let passedOver = ids.filter { states[$0] == nil }
        guard sql.dialect == .postgres, !passedOver.isEmpty else { return LockedCards(states: states, held: []) }
        // A card missing from the answer is missing, or locked by another transaction.
        let existing = try await sql.query("SELECT card_id FROM card_state WHERE tenant_id = \(tenant) AND card_id = ANY("
            + "\(SQLValue.textArray(passedOver.sorted().map(\.rawValue))))")
        return LockedCards(states: states, held: Set(try existing.map { try $0.id("card_id") }))
    }

    /// A card program and its webhook's sealed signing secret. Programs never change, so each is
    /// read once per process and kept.
    public func program(_ tenant: TenantID, _ id: CardProgramID) async throws -> (program: CardProgram, sealedSecret: [UInt8]?) {
        let key = "\(tenant.rawValue)/\(id.rawValue)"
        if let known = ProgramCache.programs.withLock({ $0[key] }) { return known }
        guard let row = try await sql.queryOne("SELECT * FROM card_programs WHERE tenant_id = \(tenant) AND id = \(id)") else {
            throw DomainError.resourceMissing("card_program", id: id.rawValue)
        }
        let secret: [UInt8]? = if case .null = row["authorization_webhook_secret"] { nil } else { try row.bytes("authorization_webhook_secret") }
        let found = (try scope(tenant).decodeCardProgram(row), secret)
        ProgramCache.programs.withLock { cache in
            if cache.count >= ProgramCache.entries_max { cache.removeAll(keepingCapacity: true) }
            cache[key] = found
        }
        return found
    }

    /// The decisions these network references already have, in one statement.
    public func decisions(_ tenant: TenantID, references: Set<String>) async throws -> [String: AuthorizationID] {
        guard !references.isEmpty else { return [:] }
        let select: SQL = "SELECT id, network_reference FROM authorizations WHERE tenant_id = \(tenant) AND"
        var rows: [SQLRow] = []
        switch sql.dialect {
        case .postgres: rows = try await sql.query(select + " network_reference = ANY(\(SQLValue.textArray(references.sorted())))")
        case .sqlite:
            let text = (select + " network_reference = ?").render(.sqlite).text
            rows = try await sql.run(text, rows: references.sorted().map { [tenant.sqlValue, .text($0)] })
        }
        return Dictionary(try rows.map { (try $0.string("network_reference"), try $0.id("id")) }, uniquingKeysWith: { first, _ in first })
    }

    /// Writes a tenant's decisions: each table once (the narrow authorization rows, the holds'
    /// journal entries and lines, the cards' state rows). Answers the network references another
    /// transaction decided meanwhile (a concurrent first decision, caught by the unique index):
    /// then nothing was written, and the caller decides again without them.
    public func write(_ tenant: TenantID, _ decisions: [DecisionWrite], cards: [CardState]) async throws -> Set<String> {
        var authorizations = BulkRows.authorizations
        var entries = BulkRows("journal_entries", [.init("id", .text), .init("tenant_id", .text), .init("description", .text),
                                                   .init("created_at", .bigint)])
        var lines = BulkRows.ledgerEntries
        var owners: [LedgerAccountID: CardID] = [:]
        for card in cards {
            owners[card.availableAccount] = card.version.card
            owners[card.reservedAccount] = card.version.card
        }
        // In reference order: two transactions inserting the same references meet them in one order.
        for write in decisions.sorted(by: { $0.record.networkReference < $1.record.networkReference }) {
            authorizations.append(authorizationRow(tenant, write.record, write.decision))
            guard let (entry, draft) = write.hold else { continue }
            entries.append([.text(entry.rawValue), .text(tenant.rawValue), .text(draft.description), .int(now.microseconds)])
            for posting in draft.postings {
                guard let owner = owners[posting.account] else { throw DomainError.invariantViolated("a hold posts outside its card") }
                lines.append([.text(newID(LedgerEntryKind.self).rawValue), .text(tenant.rawValue), .text(entry.rawValue),
                              .text(posting.account.rawValue), .text(owner.rawValue), .text(posting.direction.rawValue),
                              .int(posting.amount.minor), .text(posting.amount.currency.code), .int(now.microseconds)])
            }
        }
        let inserted = try await sql.insert(authorizations, suffix: "ON CONFLICT (tenant_id, network_reference) DO NOTHING RETURNING id")
        if inserted.count < decisions.count {
            let written = try inserted.map { try $0.string("id") }
            let decided = try await self.decisions(tenant, references: Set(decisions.map(\.record.networkReference)))
            if !written.isEmpty {
                try await sql.execute("DELETE FROM authorizations WHERE tenant_id = \(tenant) AND id IN ("
                    + SQL.joined(written.map { "\($0)" }, separator: ", ") + ")")
            }
            return Set(decisions.map(\.record.networkReference).filter { decided[$0] != nil && !written.contains(decided[$0]!.rawValue) })
        }
        var states = BulkRows("card_state", ["tenant_id", "card_id", "available_debits", "available_credits", "reserved_debits",
                                             "reserved_credits", "day_key", "day_minor", "week_key", "week_minor", "month_key",
                                             "month_minor", "lifetime_minor"].enumerated().map { BulkRows.Column($1, $0 < 2 ? .text : .bigint) })
        for card in cards {
            let c = card.counters
            states.append([.text(tenant.rawValue), .text(card.version.card.rawValue), .int(card.availableDebits), .int(card.availableCredits),
                           .int(card.reservedDebits), .int(card.reservedCredits), .int(c.dayKey), .int(c.dayMinor), .int(c.weekKey),
                           .int(c.weekMinor), .int(c.monthKey), .int(c.monthMinor), .int(c.lifetimeMinor)])
        }
        switch sql.dialect {
        case .postgres:
            // The entries, their lines and the cards' states in one round trip.
            var parts = try [entries, lines].filter { !$0.isEmpty }.map { try $0.insertStatement() }
            if !states.isEmpty { parts.append(try states.updateStatement(keys: 2)) }
            if let statement = SQL.together(parts) { try await sql.execute(statement) }
        case .sqlite:
            try await sql.insert(entries)
            try await sql.insert(lines)
            try await sql.update(states, keys: 2)
        }
        return []
    }
}

/// Card programs by tenant and id; bounded, emptied when full.
enum ProgramCache {
    static let entries_max = 10_000
    static let programs = Mutex<[String: (program: CardProgram, sealedSecret: [UInt8]?)]>([:])
}

extension BulkRows {
    /// The narrow decision row (`authorizationRow`).
    static var authorizations: BulkRows {
        BulkRows("authorizations", [
            .init("id", .text), .init("tenant_id", .text), .init("card_id", .text), .init("card_version", .bigint), .init("status", .text),
            .init("amount_minor", .bigint), .init("currency", .text), .init("merchant", .text), .init("channel", .text),
            .init("device_location", .text), .init("network_reference", .text), .init("decline_reason", .text),
            .init("response_code", .text), .init("rule_outcomes", .text), .init("hold_amount_minor", .bigint), .init("hold_status", .text),
            .init("hold_journal_entry_id", .text), .init("expires_at", .bigint), .init("available_before_minor", .bigint),
            .init("spend_day_before_minor", .bigint), .init("spend_week_before_minor", .bigint), .init("spend_month_before_minor", .bigint),
            .init("spend_lifetime_before_minor", .bigint), .init("window_day", .bigint), .init("window_week", .bigint),
            .init("window_month", .bigint), .init("time_zone", .text), .init("received_at", .bigint), .init("customer_decision", .text),
            .init("review", .text), .init("adjustments", .text), .init("policy_version", .bigint), .init("render_version", .bigint),
            .init("created_at", .bigint), .init("updated_at", .bigint),
        ])
    }

    static var ledgerEntries: BulkRows {
        BulkRows("ledger_entries", [.init("id", .text), .init("tenant_id", .text), .init("journal_entry_id", .text),
                                    .init("ledger_account_id", .text), .init("owner_id", .text), .init("direction", .text),
                                    .init("amount_minor", .bigint), .init("currency", .text), .init("created_at", .bigint)])
    }
}

/// A new decision's row: its record, and the state it leaves (its status, its hold).
func authorizationRow(_ tenant: TenantID, _ record: DecisionRecord, _ decision: PolicyDecision) -> [SQLValue] {
    let answer = record.answer(decision)
    return [
        record.id.sqlValue, tenant.sqlValue, record.card.card.sqlValue, .int(record.card.version), .text(decision.status.rawValue),
        .int(record.amount.minor), record.amount.currency.sqlValue, .text(record.merchant.serializedString), .text(record.channel.rawValue),
        (record.deviceLocation?.serializedString).sqlValue, .text(record.networkReference), decision.declineReason?.rawValue.sqlValue ?? .null,
        .text(decision.responseCode), .text(record.outcomes.letters), (answer.hold?.amountMinor).sqlValue,
        (answer.hold?.status.rawValue).sqlValue, (answer.hold?.journalEntry).sqlValue, (answer.hold?.expiresAt).sqlValue,
        .int(record.availableBeforeMinor), .int(record.spendBefore.dailyMinor), .int(record.spendBefore.weeklyMinor),
        .int(record.spendBefore.monthlyMinor), .int(record.spendBefore.lifetimeMinor), .int(record.windows.day), .int(record.windows.week),
        .int(record.windows.month), .text(record.timeZone), record.receivedAt.sqlValue, (record.customerDecision?.serializedString).sqlValue,
        (answer.review?.serializedString).sqlValue, .null, .int(record.policyVersion), .int(DecisionRecord.renderVersion),
        record.decidedAt.sqlValue, record.decidedAt.sqlValue,
    ]
}
