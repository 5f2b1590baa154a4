import ZentraCore
import ZentraStorage

/// The runtime intents of money operations that write no intent row of their own: each is derived,
/// on read, from the rows its operation wrote (nothing more is written on their path). Their ids
/// name what they are the intent of:
/// - `int_<authorization id>`: the decision (policy, the hold's entry, its event and audit record);
/// - `int_<authorization id>_<n>`: the authorization's n-th adjustment since (an increment, a
///   reversal, a review settled, an expiry, a clearing), with its entry, events and audit records;
/// - `int_<clearing id>`: a clearing posted (its entry, events and audit record);
/// - `int_<settlement id>`: a settlement batch closed;
/// - `int_<dispute id>`: a dispute opened (with its provisional credit), and
///   `int_<dispute id>_<n>`: its n-th step since (submitted, withdrawn, won, lost).
public enum DerivedIntents {
    static let prefix = "int_"

    public static func intent(_ raw: String, scope: some TenantScope) async throws -> RuntimeIntent? {
        guard raw.hasPrefix(prefix) else { return nil }
        let (named, step) = split(String(raw.dropFirst(prefix.count)))
        // What the operation wrote besides its object: every event and audit record about it.
        func writtenAbout() async throws -> (events: [Event], audits: [AuditRecord]) {
            (try await scope.events.all(about: [named]), try await scope.auditLog.all(about: [named]))
        }
        if let id = AuthorizationID(named) {
            guard let stored = try await scope.authorizations.find(id) else { return nil }
            let (events, audits) = try await writtenAbout()
            guard let step else { return try decision(stored, intent: raw, events: events, audits: audits) }
            let adjustments = stored.authorization.adjustments
            guard step <= adjustments.count else { return nil }
            return try adjustment(adjustments[step - 1], of: stored.authorization, intent: raw, events: events, audits: audits)
        }
        if let id = DisputeID(named) {
            guard let dispute = try await scope.disputes.find(id), (step ?? 0) < dispute.history.count else { return nil }
            let (events, audits) = try await writtenAbout()
            return try self.dispute(dispute, step: step ?? 0, intent: raw, events: events, audits: audits)
        }
        guard step == nil else { return nil }
        if let id = ClearingID(named), let clearing = try await scope.clearings.find(id) {
            let (events, audits) = try await writtenAbout()
            return try self.clearing(clearing, intent: raw, events: events, audits: audits)
        }
        if let id = SettlementID(named), let settlement = try await scope.settlements.find(id) {
            let (events, audits) = try await writtenAbout()
            return try self.settlement(settlement, intent: raw, events: events, audits: audits)
        }
        return nil
    }

    /// `auth_…_3` is the object `auth_…` and its third step after the first; ids hold one `_`.
    static func split(_ named: String) -> (String, Int?) {
        let parts = named.split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count == 3, let step = Int(parts[2]), step >= 1 else { return (named, nil) }
        return (parts[0] + "_" + parts[1], step)
    }

    static let primitives = ["policy", "ledger", "events", "audit"]

    /// A decision: received, validated against the card as it was, the policy's outcome, the hold
    /// (when there is one), its event and its audit record.
    static func decision(_ stored: StoredAuthorization, intent: String, events: [Event], audits: [AuditRecord]) throws -> RuntimeIntent {
        let a = stored.authorization
        let first = stored.record.map { $0.outcomes.status } ?? AuthorizationStatus(rawValue: a.policy.json.objectFields["decision"]?.stringValue ?? "")
            ?? a.status
        let decidedAt = a.createdAt
        var machine = IntentMachine(
            at: stored.record?.receivedAt ?? decidedAt,
            detail: "POST /authorizations \(a.networkReference): \(a.amountMinor) \(a.currency.code) on \(a.card) at \(a.merchant.name)")
        try machine.advance(to: .validated, at: decidedAt, detail: stored.record.map {
            "card \(a.card) as of its version \($0.card.version), program \($0.program.id)"
        } ?? "card \(a.card)")
        let deciding = a.policy.json.objectFields["deciding_rule"]?.stringValue ?? "none"
        try machine.advance(to: .policyEvaluated, at: decidedAt,
                            detail: "\(first.rawValue), response code \(a.responseCode), deciding rule \(deciding)")
        let event = events.first { $0.type == EventType.authorization(first).rawValue && $0.createdAt == decidedAt }
        let audit = audits.first { $0.action == AuditAction.authorizationDecided.rawValue }
        return try finish(&machine, intent: intent, type: .authorizationDecide, subject: a.id.rawValue, at: decidedAt,
                          posted: a.hold.map { ("hold of \(a.amountMinor) moved to the card's reserved account", [$0.journalEntry]) },
                          events: event.map { [$0] } ?? [], audits: audit.map { [$0] } ?? [], outcome: "answered \(a.responseCode)")
    }

    /// An adjustment: its policy (increments run it again), its entry, the events and audit records
    /// written with it.
    static func adjustment(_ adjustment: AuthorizationAdjustment, of a: Authorization, intent: String, events: [Event],
                           audits: [AuditRecord]) throws -> RuntimeIntent {
        let at = adjustment.createdAt
        var machine = IntentMachine(at: at, detail: "\(adjustment.type.rawValue) of \(adjustment.amountMinor) \(a.currency.code) on \(a.id)")
        try machine.advance(to: .validated, at: at, detail: "authorization \(a.id) on card \(a.card)")
        if adjustment.policy != nil {
            try machine.advance(to: .policyEvaluated, at: at, detail: "\(adjustment.status.rawValue), response code \(adjustment.responseCode ?? "")")
        }
        return try finish(&machine, intent: intent, type: .authorizationAdjustment(adjustment.type), subject: a.id.rawValue, at: at,
                          posted: adjustment.journalEntry.map { ("\(adjustment.type.rawValue) posted", [$0]) },
                          events: written(events, at: at), audits: written(audits, at: at), outcome: adjustment.status.rawValue)
    }

    /// A clearing posted: matched (or not), its entry, its events and audit record.
    static func clearing(_ clearing: Clearing, intent: String, events: [Event], audits: [AuditRecord]) throws -> RuntimeIntent {
        let at = clearing.createdAt
        var machine = IntentMachine(at: at, detail: "clearing \(clearing.clearingId): \(clearing.amountMinor) \(clearing.currency.code) on \(clearing.card)")
        try machine.advance(to: .validated, at: at, detail: "matched by \(clearing.matchMethod.rawValue)")
        try machine.advance(to: .policyEvaluated, at: at, detail: "\(clearing.status.rawValue), delta \(clearing.deltaMinor)")
        return try finish(&machine, intent: intent, type: .clearingPost, subject: clearing.id.rawValue, at: at,
                          posted: ("cleared amount posted", [clearing.journalEntry]),
                          events: written(events, at: at), audits: written(audits, at: at),
                          outcome: clearing.status.rawValue)
    }

    /// A settlement batch: what it covered, the one entry moving the net to the merchant side
    /// (none when the net is zero), its event and audit record.
    static func settlement(_ settlement: Settlement, intent: String, events: [Event], audits: [AuditRecord]) throws -> RuntimeIntent {
        let at = settlement.createdAt
        var machine = IntentMachine(at: at, detail: "POST /settlements \(settlement.currency.code)")
        try machine.advance(to: .validated, at: at, detail: "\(settlement.clearingCount) clearings and \(settlement.disputeCount) chargebacks unsettled")
        try machine.advance(to: .policyEvaluated, at: at, detail: "net \(settlement.netMinor) = \(settlement.clearingsMinor) cleared - \(settlement.chargebacksMinor) charged back")
        return try finish(&machine, intent: intent, type: .settlementClose, subject: settlement.id.rawValue, at: at,
                          posted: settlement.journalEntry.map { ("net moved from settlement to merchant", [$0]) },
                          events: written(events, at: at), audits: written(audits, at: at),
                          outcome: "payout \(settlement.payout.status.rawValue)")
    }

    /// A dispute's step: the opening (with its provisional credit) or a later move (submitted,
    /// withdrawn, won with its chargeback, lost), its entry, its event and audit record.
    static func dispute(_ dispute: Dispute, step index: Int, intent: String, events: [Event], audits: [AuditRecord]) throws -> RuntimeIntent {
        let step = dispute.history[index]
        let at = step.at
        let action = index == 0 ? "open" : step.status.rawValue
        var machine = IntentMachine(at: at, detail: "dispute \(dispute.id) \(action) by \(step.actor): \(dispute.amountMinor) \(dispute.currency.code)")
        try machine.advance(to: .validated, at: at, detail: index == 0 ? "transaction \(dispute.transaction) on card \(dispute.card)"
                                : "from \(dispute.history[index - 1].status.rawValue)")
        try machine.advance(to: .policyEvaluated, at: at, detail: step.status.rawValue)
        return try finish(&machine, intent: intent, type: index == 0 ? .disputeOpen : .disputeMove(step.status), subject: dispute.id.rawValue, at: at,
                          posted: step.journalEntry.map { ("\(step.status.rawValue) posted", [$0]) },
                          events: written(events, at: at), audits: written(audits, at: at), outcome: step.status.rawValue)
    }

    /// The steps every derived intent ends with: its entries (when it posted), the events and audit
    /// records it wrote, and its outcome.
    static func finish(_ machine: inout IntentMachine, intent: String, type: IntentType, subject: String, at: Timestamp,
                       posted: (String, [JournalEntryID])?, events: [Event], audits: [AuditRecord], outcome: String) throws -> RuntimeIntent {
        if let (detail, entries) = posted {
            try machine.advance(to: .ledgerPosted, at: at, detail: detail, journalEntries: entries)
        }
        try machine.advance(to: .eventsEmitted, at: at, detail: events.isEmpty ? "no event" : events.map(\.type).joined(separator: ", "),
                            events: events.map(\.id))
        try machine.advance(to: .audited, at: at, detail: audits.isEmpty ? "no audit record" : audits.map(\.action).joined(separator: ", "),
                            auditRecords: audits.map(\.id))
        try machine.advance(to: .completed, at: at, detail: outcome)
        return RuntimeIntent(id: IntentID(unchecked: intent), intentID: intent, type: type.rawValue, scope: "tenant", moneyModel: IntentSpec.moneyModel,
                             primitives: primitives, status: machine.state, steps: machine.steps, subject: subject, createdAt: at)
    }

    /// What was written at a step's instant. Records that keep their instant in JSON keep it to
    /// the millisecond, so rows are matched by the millisecond.
    static func written<Row>(_ rows: [Row], at: Timestamp) -> [Row] where Row: Stamped {
        rows.filter { $0.createdAt.description == at.description }
    }
}

/// A row that knows when it was written.
protocol Stamped { var createdAt: Timestamp { get } }
extension Event: Stamped {}
extension AuditRecord: Stamped {}
