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
    /// The state row's values as read (`CardState.stateColumns`): the write changes the row only if
    /// it still holds them.
    fileprivate(set) var asRead: [Int64]

    /// What the card can spend: its available account's balance (a credit-normal liability).
    public var availableMinor: Int64 { availableCredits - availableDebits }

    /// The state row's values as decisions left them, in the order of `asRead`.
    var columns: [Int64] {
        [version.version, availableDebits, availableCredits, reservedDebits, reservedCredits, counters.dayKey, counters.dayMinor,
         counters.weekKey, counters.weekMinor, counters.monthKey, counters.monthMinor, counters.lifetimeMinor]
    }

    /// Whether decisions changed the state since it was read: its row is written, not only checked.
    var isChanged: Bool { columns != asRead }

    /// This state as its row holds it once written.
    var written: CardState {
        var state = self
        state.asRead = columns
        return state
    }

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

/// One decision as a batch writes it: its record, what the policy decided, its hold's entry, and
/// the event and audit record it queues under its request's scope.
public struct DecisionWrite: Sendable {
    public let record: DecisionRecord
    public let decision: PolicyDecision
    public let hold: (id: JournalEntryID, draft: JournalEntryDraft)?
    public let scope: WriteScope
    public let events: [BatchTransaction.Event]
    public let audits: [BatchTransaction.Audit]

    public init(record: DecisionRecord, decision: PolicyDecision, hold: (id: JournalEntryID, draft: JournalEntryDraft)?, scope: WriteScope,
                events: [BatchTransaction.Event], audits: [BatchTransaction.Audit]) {
        self.record = record
        self.decision = decision
        self.hold = hold
        self.scope = scope
        self.events = events
        self.audits = audits
    }
}

/// What a batch of one tenant's decisions reads before deciding: which of the batch's API keys are
/// not revoked, the decisions its network references already have, and its cards' states.
///
/// On PostgreSQL a batch of one tenant first runs without a transaction (`BatchTransaction.locksRows`
/// false): it reads without locking anything, and its one write statement commits alone, writing
/// only if the cards' states are still as read; otherwise it fails as a lost race and runs again in
/// a transaction. There the cards' states are locked in id order, and a card another transaction
/// holds is passed over (`SKIP LOCKED`) and named in `held`: a decision never waits on a card's
/// lock, so it can never be part of a deadlock. Either way the tenant's head row, which numbers
/// events and chains audit records, is locked only by the write statement.
public struct DecisionReads: Sendable {
    public let unrevokedKeys: Set<String>
    public let decided: [String: AuthorizationID]
    public let cards: [CardID: CardState]
    public let held: Set<CardID>
}

extension BatchTransaction {
    /// One statement on PostgreSQL (one round trip), a few prepared ones on SQLite.
    ///
    /// Outside a transaction on PostgreSQL, a batch whose cards this process remembers reads
    /// nothing: it decides from `memory`, and takes its keys as unrevoked and the references memory
    /// does not know as undecided; the write checks all of it.
    public func read(_ tenant: TenantID, keys: Set<String>, cards: Set<CardID>, references: Set<String>) async throws -> DecisionReads {
        let lock = locksRows ? "FOR UPDATE OF s SKIP LOCKED" : ""
        switch sql.dialect {
        case .postgres:
            if !locksRows, let remembered = memory.states(tenant, cards) {
                return DecisionReads(unrevokedKeys: keys, decided: memory.decided(tenant, references), cards: remembered, held: [])
            }
            // The other kinds of row line up with a card row's 26 columns (`cardStateSelect`).
            func row(_ kind: String, _ values: [Int: String]) -> String {
                "SELECT '\(kind)', " + (0..<26).map { values[$0] ?? "NULL" }.joined(separator: ", ")
            }
            let cardIDs = SQLValue.textArray(cards.sorted().map(\.rawValue))
            let rows = try await sql.query(("""
                WITH c AS (\(raw: Self.cardStateSelect) WHERE s.tenant_id = \(tenant) AND s.card_id = ANY(\(cardIDs))
                           ORDER BY s.card_id \(raw: lock))
                SELECT 'card' AS kind, c.* FROM c
                UNION ALL \(raw: row("key", [0: "id"])) FROM api_keys WHERE revoked_at IS NULL AND id = ANY(\(SQLValue.textArray(keys.sorted())))
                UNION ALL \(raw: row("decided", [0: "id", 1: "network_reference"])) FROM authorizations
                    WHERE tenant_id = \(tenant) AND network_reference = ANY(\(SQLValue.textArray(references.sorted())))
                UNION ALL \(raw: row("held", [0: "card_id"])) FROM card_state
                    WHERE tenant_id = \(tenant) AND card_id = ANY(\(cardIDs)) AND card_id NOT IN (SELECT card_id FROM c)
                """ as SQL).prepared())
            var unrevoked: Set<String> = []
            var decided: [String: AuthorizationID] = [:]
            var states: [CardID: CardState] = [:]
            var held: Set<CardID> = []
            for row in rows {
                switch try row.string("kind") {
                case "card": states[try row.id("card_id")] = try cardState(row, tenant: tenant)
                case "key": unrevoked.insert(try row.string("card_id"))
                case "decided": decided[try row.string("status")] = try row.id("card_id")
                default: held.insert(try row.id("card_id"))
                }
            }
            // A transaction's reads may be written over by what it then writes, and commits later.
            if locksRows { memory.forget(tenant, cards) }
            memory.keep(tenant, states: locksRows ? [] : Array(states.values), decided: decided.map { ($0.key, $0.value) })
            return DecisionReads(unrevokedKeys: unrevoked, decided: decided, cards: states, held: held)
        case .sqlite:
            let keyRows = try await sql.run("SELECT id FROM api_keys WHERE revoked_at IS NULL AND id = ?", rows: keys.sorted().map { [.text($0)] })
            let decidedRows = try await sql.run("SELECT id, network_reference FROM authorizations WHERE tenant_id = ? AND network_reference = ?",
                                                rows: references.sorted().map { [tenant.sqlValue, .text($0)] })
            let cardRows = try await sql.run(Self.cardStateSelect + " WHERE s.tenant_id = ? AND s.card_id = ?",
                                             rows: cards.sorted().map { [tenant.sqlValue, $0.sqlValue] })
            return DecisionReads(
                unrevokedKeys: Set(try keyRows.map { try $0.string("id") }),
                decided: Dictionary(try decidedRows.map { (try $0.string("network_reference"), try $0.id("id")) }, uniquingKeysWith: { a, _ in a }),
                cards: Dictionary(try cardRows.map { (try $0.id("card_id"), try cardState($0, tenant: tenant)) }, uniquingKeysWith: { a, _ in a }),
                held: [])
        }
    }

    /// A card's state row with the card version it names, the card's accounts and its tenant's time
    /// zone. Its columns are in the order the read's other parts line up with.
    static let cardStateSelect = """
        SELECT s.card_id, v.status, v.spend_controls, c.last4, c.type, c.program_id, c.currency, c.available_ledger_account_id,
               c.reserved_ledger_account_id, t.time_zone, s.day_key, s.day_minor, s.version, s.available_debits, s.available_credits,
               s.reserved_debits, s.reserved_credits, s.week_key, s.week_minor, s.month_key, s.month_minor, s.lifetime_minor,
               v.geofence_enabled, v.geofence_radius_km, c.exp_month, c.exp_year
        FROM card_state s JOIN card_versions v ON v.card_id = s.card_id AND v.version = s.version
             JOIN cards c ON c.id = s.card_id JOIN tenants t ON t.id = s.tenant_id
        """

    func cardState(_ row: SQLRow, tenant: TenantID) throws -> CardState {
        let id: CardID = try row.id("card_id")
        let version = CardVersion(
            card: id, version: try row.int("version"), status: try row.enumValue("status"), spendControls: try row.configuration("spend_controls"),
            geofenceEnabled: try row.bool("geofence_enabled"), geofenceRadiusKm: Int(try row.int("geofence_radius_km")),
            last4: try row.string("last4"), type: try row.enumValue("type"), program: try row.id("program_id"),
            currency: try row.currency("currency"), expMonth: Int(try row.int("exp_month")), expYear: Int(try row.int("exp_year")))
        return CardState(
            version: version, availableAccount: try row.id("available_ledger_account_id"),
            reservedAccount: try row.id("reserved_ledger_account_id"), availableDebits: try row.int("available_debits"),
            availableCredits: try row.int("available_credits"), reservedDebits: try row.int("reserved_debits"),
            reservedCredits: try row.int("reserved_credits"), counters: try scope(tenant).decodeSpendCounters(row),
            timeZone: try row.string("time_zone"), asRead: try CardState.stateColumns.map { try row.int($0) })
    }

    /// Card programs by tenant and id.
    private static let programs = BoundedCache<String, (program: CardProgram, sealedSecret: [UInt8]?)>(capacity: 10_000)

    /// A card program and its webhook's sealed signing secret. Programs never change, so each is
    /// read once per process and kept.
    public func program(_ tenant: TenantID, _ id: CardProgramID) async throws -> (program: CardProgram, sealedSecret: [UInt8]?) {
        let key = "\(tenant.rawValue)/\(id.rawValue)"
        if let known = Self.programs[key] { return known }
        guard let row = try await sql.queryOne("SELECT * FROM card_programs WHERE tenant_id = \(tenant) AND id = \(id)") else {
            throw DomainError.resourceMissing("card_program", id: id.rawValue)
        }
        let secret: [UInt8]? = if case .null = row["authorization_webhook_secret"] { nil } else { try row.bytes("authorization_webhook_secret") }
        let found = (try scope(tenant).decodeCardProgram(row), secret)
        Self.programs.keep(found, for: key)
        return found
    }

    /// Writes a tenant's decisions, each table once: the narrow authorization rows, the holds'
    /// journal entries and lines, the cards' state rows, and the events and audit records. On
    /// PostgreSQL all in one statement (one round trip), which numbers and chains the events and
    /// audit records itself (`CommitBatch.postgresParts`) and fails as a lost race
    /// (`zentra_assert`: `StoreError.retryable`) unless every card decided on still held its state
    /// as read, every network reference was still undecided and every one of `keys` unrevoked; the
    /// batch then runs again in a transaction, and reads what the other writer did. On SQLite, the
    /// one writer, the events and audit records are queued on the transaction's `CommitBatch`.
    /// - Parameter cards: the states of every card decided on, as the decisions left them: the
    ///   rows of those they changed are written, the others checked.
    public func write(_ tenant: TenantID, _ decisions: [DecisionWrite], cards all: [CardState], keys: Set<String>) async throws {
        guard !decisions.isEmpty else { return }
        let cards = all.filter(\.isChanged)
        var authorizations = BulkRows.authorizations
        var entries = BulkRows.journalEntries
        var lines = BulkRows.ledgerEntries
        var owners: [LedgerAccountID: CardID] = [:]
        for card in all {
            owners[card.availableAccount] = card.version.card
            owners[card.reservedAccount] = card.version.card
        }
        var units: [CommitBatch.Unit] = []
        for write in decisions {
            authorizations.append(authorizationRow(tenant, write.record, write.decision))
            units.append(CommitBatch.Unit(
                scope: write.scope, now: now,
                events: write.events.map { CommitBatch.PendingEvent(id: newID(), type: $0.type, objectType: $0.objectType, objectID: $0.objectID,
                                                                    data: nil, objectVersion: $0.objectVersion) },
                audits: write.audits.map { CommitBatch.PendingAudit(id: newID(), action: $0.action, objectType: $0.objectType,
                                                                    objectID: $0.objectID, context: $0.context) }))
            guard let (entry, draft) = write.hold else { continue }
            entries.append([.text(entry.rawValue), .text(tenant.rawValue), .text(draft.description), .null, .int(now.microseconds)])
            for posting in draft.postings {
                guard let owner = owners[posting.account] else { throw DomainError.invariantViolated("a hold posts outside its card") }
                lines.append([.text(newID(LedgerEntryKind.self).rawValue), .text(tenant.rawValue), .text(entry.rawValue),
                              .text(posting.account.rawValue), .text(owner.rawValue), .text(posting.direction.rawValue),
                              .int(posting.amount.minor), .text(posting.amount.currency.code), .int(now.microseconds)])
            }
        }
        let checked = sql.dialect == .postgres ? CardState.stateColumns.map { "was_" + $0 } : []
        var states = BulkRows("card_state", (["tenant_id", "card_id"] + CardState.stateColumns.dropFirst() + checked).enumerated()
            .map { BulkRows.Column($1, $0 < 2 ? .text : .bigint) })
        for card in cards {
            let c = card.counters
            states.append([.text(tenant.rawValue), .text(card.version.card.rawValue), .int(card.availableDebits), .int(card.availableCredits),
                           .int(card.reservedDebits), .int(card.reservedCredits), .int(c.dayKey), .int(c.dayMinor), .int(c.weekKey),
                           .int(c.weekMinor), .int(c.monthKey), .int(c.monthMinor), .int(c.lifetimeMinor)]
                          + (checked.isEmpty ? [] : card.asRead.map { .int($0) }))
        }
        let conflict: SQL = "ON CONFLICT (tenant_id, network_reference) DO NOTHING RETURNING id"
        switch sql.dialect {
        case .postgres:
            var unchanged = BulkRows("card_state", (["tenant_id", "card_id"] + checked).enumerated().map { BulkRows.Column($1, $0 < 2 ? .text : .bigint) })
            for card in all where !card.isChanged {
                unchanged.append([.text(tenant.rawValue), .text(card.version.card.rawValue)] + card.asRead.map { .int($0) })
            }
            var parts: [(name: String, sql: SQL)] = [("decided", try authorizations.insertStatement(suffix: conflict))]
            if !entries.isEmpty { parts.append(("entries", try entries.insertStatement())) }
            if !lines.isEmpty { parts.append(("lines", try lines.insertStatement())) }
            if !states.isEmpty { parts.append(("states", try states.updateStatement(keys: 2, expected: checked.count) + " RETURNING t.card_id")) }
            if !unchanged.isEmpty { parts.append(("unchanged", try unchanged.unchangedStatement(keys: 2))) }
            // The head row is locked last, after the rows this statement may wait for.
            parts += try CommitBatch.postgresParts(units, tenant: tenant, after: ["decided"] + (states.isEmpty ? [] : ["states"]))
            var check: SQL = "SELECT zentra_assert((SELECT count(*) FROM decided) = \(Int64(decisions.count))"
            if !states.isEmpty { check = check + " AND (SELECT count(*) FROM states) = \(Int64(states.rows.count))" }
            if !unchanged.isEmpty { check = check + " AND (SELECT count(*) FROM unchanged) = \(Int64(unchanged.rows.count))" }
            if !keys.isEmpty {
                check = check + " AND (SELECT count(*) FROM api_keys WHERE revoked_at IS NULL AND id = ANY(\(SQLValue.textArray(keys.sorted())))) = \(Int64(keys.count))"
            }
            check = check + ", 'a card, network reference or API key of this batch changed since it was read') AS ok"
            _ = try await sql.query(SQL.with(parts, recursive: true, check).prepared())
            // Committed: what this process now knows of the rows, until another writer changes them.
            if !locksRows { memory.keep(tenant, states: all.map(\.written), decided: decisions.map { ($0.record.networkReference, $0.record.id) }) }
        case .sqlite:
            guard let batch = sql.batch else { throw StoreError.other("decisions were written outside a write transaction") }
            guard try await sql.insert(authorizations, suffix: conflict).count == decisions.count else {
                throw StoreError.retryable("network references of this batch were decided by another transaction meanwhile")
            }
            try await sql.insert(entries)
            try await sql.insert(lines)
            try await sql.update(states, keys: 2)
            for unit in units { batch.append(unit) }
        }
    }
}

extension CardState {
    /// The state row's columns a batch writes, and the version it was read at.
    static let stateColumns = ["version", "available_debits", "available_credits", "reserved_debits", "reserved_credits", "day_key",
                               "day_minor", "week_key", "week_minor", "month_key", "month_minor", "lifetime_minor"]
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
            .init("created_at", .bigint), .init("updated_at", .bigint), .init("network_message", .text),
        ])
    }

    static var journalEntries: BulkRows {
        BulkRows("journal_entries", [.init("id", .text), .init("tenant_id", .text), .init("description", .text), .init("intent_id", .text),
                                     .init("created_at", .bigint)])
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
        record.id.sqlValue, tenant.sqlValue, record.card.card.sqlValue, .int(record.card.version), .text(answer.status.rawValue),
        .int(record.amount.minor), record.amount.currency.sqlValue, .text(record.merchant.serializedString), .text(record.channel.rawValue),
        (record.deviceLocation?.serializedString).sqlValue, .text(record.networkReference), answer.declineReason?.rawValue.sqlValue ?? .null,
        .text(answer.responseCode), .text(record.outcomes.letters), (answer.hold?.amountMinor).sqlValue,
        (answer.hold?.status.rawValue).sqlValue, (answer.hold?.journalEntry).sqlValue, (answer.hold?.expiresAt).sqlValue,
        .int(record.availableBeforeMinor), .int(record.spendBefore.dailyMinor), .int(record.spendBefore.weeklyMinor),
        .int(record.spendBefore.monthlyMinor), .int(record.spendBefore.lifetimeMinor), .int(record.windows.day), .int(record.windows.week),
        .int(record.windows.month), .text(record.timeZone), record.receivedAt.sqlValue, (record.customerDecision?.serializedString).sqlValue,
        (answer.review?.serializedString).sqlValue, .null, .int(record.policyVersion), .int(record.renderVersion),
        record.decidedAt.sqlValue, record.decidedAt.sqlValue, (record.network?.serializedString).sqlValue,
    ]
}
