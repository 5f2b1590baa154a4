import ZentraCore
import ZentraStorage

/// The runtime intents of money operations that write no intent row of their own: each is derived,
/// on read, from the rows its operation wrote (nothing more is written on their path). Their ids
/// name what they are the intent of:
/// - `int_<authorization id>`: the decision (policy, the hold's entry, its event and audit record);
/// - `int_<authorization id>_<n>`: the authorization's n-th adjustment since (an increment, a
///   reversal, a review settled, an expiry, a clearing), with its entry, events and audit records;
/// - `int_<clearing id>`: a clearing posted (its entry, events and audit record).
public enum DerivedIntents {
    static let prefix = "int_"

    public static func intent(_ raw: String, scope: some TenantScope) async throws -> RuntimeIntent? {
        guard raw.hasPrefix(prefix) else { return nil }
        let named = String(raw.dropFirst(prefix.count))
        if let id = ClearingID(named) { return try await clearing(id, intent: raw, scope: scope) }
        var parts = named.split(separator: "_", omittingEmptySubsequences: false).map(String.init)
        var adjustment: Int?
        if parts.count == 3, let index = Int(parts[2]), index >= 1 {
            adjustment = index
            parts.removeLast()
        }
        guard let id = AuthorizationID(parts.joined(separator: "_")) else { return nil }
        guard let stored = try await scope.authorization(id) else { return nil }
        let events = try await scope.events(about: [id.rawValue])
        let audits = try await scope.auditRecords(about: [id.rawValue])
        if let adjustment {
            let adjustments = stored.authorization.adjustments
            guard adjustment <= adjustments.count else { return nil }
            return try self.adjustment(adjustments[adjustment - 1], of: stored.authorization, intent: raw, events: events, audits: audits)
        }
        return try decision(stored, intent: raw, events: events, audits: audits)
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
        if let hold = a.hold {
            try machine.advance(to: .ledgerPosted, at: decidedAt, detail: "hold of \(a.amountMinor) moved to the card's reserved account",
                                journalEntries: [hold.journalEntry])
        }
        let event = events.first { $0.type == "authorization.\(first.rawValue)" && $0.createdAt == decidedAt }
        try machine.advance(to: .eventsEmitted, at: decidedAt, detail: event?.type ?? "no event", events: event.map { [$0.id] } ?? [])
        let audit = audits.first { $0.action == "authorization.decided" }
        try machine.advance(to: .audited, at: decidedAt, detail: audit?.action ?? "no audit record", auditRecords: audit.map { [$0.id] } ?? [])
        try machine.advance(to: .completed, at: decidedAt, detail: "answered \(a.responseCode)")
        return RuntimeIntent(id: IntentID(unchecked: intent), intentID: intent, type: "authorization.decide", scope: "tenant",
                             moneyModel: IntentSpec.moneyModel, primitives: primitives, status: machine.state, steps: machine.steps,
                             subject: a.id.rawValue, createdAt: decidedAt)
    }

    /// An adjustment: its policy (increments run it again), its entry, the events and audit records
    /// written with it (the same instant).
    static func adjustment(_ adjustment: AuthorizationAdjustment, of a: Authorization, intent: String, events: [Event],
                           audits: [AuditRecord]) throws -> RuntimeIntent {
        let at = adjustment.createdAt
        var machine = IntentMachine(at: at, detail: "\(adjustment.type.rawValue) of \(adjustment.amountMinor) \(a.currency.code) on \(a.id)")
        try machine.advance(to: .validated, at: at, detail: "authorization \(a.id) on card \(a.card)")
        if adjustment.policy != nil {
            try machine.advance(to: .policyEvaluated, at: at, detail: "\(adjustment.status), response code \(adjustment.responseCode ?? "")")
        }
        if let entry = adjustment.journalEntry {
            try machine.advance(to: .ledgerPosted, at: at, detail: "\(adjustment.type.rawValue) posted", journalEntries: [entry])
        }
        // An adjustment keeps its instant to the millisecond (as its JSON shows it): its events and
        // audit records are those of that millisecond.
        let emitted = events.filter { $0.createdAt.description == at.description }
        try machine.advance(to: .eventsEmitted, at: at, detail: emitted.map(\.type).joined(separator: ", "), events: emitted.map(\.id))
        let audited = audits.filter { $0.createdAt.description == at.description }
        try machine.advance(to: .audited, at: at, detail: audited.map(\.action).joined(separator: ", "), auditRecords: audited.map(\.id))
        try machine.advance(to: .completed, at: at, detail: adjustment.status)
        return RuntimeIntent(id: IntentID(unchecked: intent), intentID: intent, type: "authorization.\(adjustment.type.rawValue)",
                             scope: "tenant", moneyModel: IntentSpec.moneyModel, primitives: primitives, status: machine.state,
                             steps: machine.steps, subject: a.id.rawValue, createdAt: at)
    }

    /// A clearing posted: matched (or not), its entry, its events and audit record.
    static func clearing(_ id: ClearingID, intent: String, scope: some TenantScope) async throws -> RuntimeIntent? {
        guard let clearing = try await scope.clearing(id) else { return nil }
        let at = clearing.createdAt
        let events = try await scope.events(about: [id.rawValue]).filter { $0.createdAt == at }
        let audits = try await scope.auditRecords(about: [id.rawValue]).filter { $0.createdAt == at }
        var machine = IntentMachine(at: at, detail: "clearing \(clearing.clearingId): \(clearing.amountMinor) \(clearing.currency.code) on \(clearing.card)")
        try machine.advance(to: .validated, at: at, detail: "matched by \(clearing.matchMethod.rawValue)")
        try machine.advance(to: .policyEvaluated, at: at, detail: "\(clearing.status.rawValue), delta \(clearing.deltaMinor)")
        try machine.advance(to: .ledgerPosted, at: at, detail: "cleared amount posted", journalEntries: [clearing.journalEntry])
        try machine.advance(to: .eventsEmitted, at: at, detail: events.map(\.type).joined(separator: ", "), events: events.map(\.id))
        try machine.advance(to: .audited, at: at, detail: audits.map(\.action).joined(separator: ", "), auditRecords: audits.map(\.id))
        try machine.advance(to: .completed, at: at, detail: clearing.status.rawValue)
        return RuntimeIntent(id: IntentID(unchecked: intent), intentID: intent, type: "clearing.post", scope: "tenant",
                             moneyModel: IntentSpec.moneyModel, primitives: primitives, status: machine.state, steps: machine.steps,
                             subject: id.rawValue, createdAt: at)
    }
}
