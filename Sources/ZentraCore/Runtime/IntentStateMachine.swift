/// The steps every money or identity workflow walks through, in this order. A workflow may skip a
/// step it has no use for (a KYC change posts no ledger entry) but never goes back.
public enum IntentState: String, Sendable, Codable, Hashable, CaseIterable {
    case received
    case validated
    case policyEvaluated = "policy_evaluated"
    case ledgerPosted = "ledger_posted"
    case eventsEmitted = "events_emitted"
    case audited
    case completed
    case failed

    var order: Int { IntentState.allCases.firstIndex(of: self)! }
    public var isTerminal: Bool { self == .completed || self == .failed }
}

/// One recorded step: the state reached, when, and what it produced.
public struct IntentStep: Sendable, Hashable, Codable {
    public let sequence: Int
    public let state: IntentState
    public let at: Timestamp
    public let detail: String
    public let journalEntries: [JournalEntryID]
    public let events: [EventID]
    public let auditRecords: [AuditRecordID]
}

/// The one deterministic state machine of runtime intents. It holds no clock: callers pass time.
public struct IntentMachine: Sendable, Hashable {
    public private(set) var state: IntentState
    public private(set) var steps: [IntentStep]

    public init(at: Timestamp, detail: String) {
        state = .received
        steps = [IntentStep(sequence: 1, state: .received, at: at, detail: detail, journalEntries: [], events: [], auditRecords: [])]
    }

    /// Moves forward to `next`; throws on a backward or post-terminal move, which is a bug.
    public mutating func advance(
        to next: IntentState, at: Timestamp, detail: String,
        journalEntries: [JournalEntryID] = [], events: [EventID] = [], auditRecords: [AuditRecordID] = []
    ) throws(DomainError) {
        guard !state.isTerminal else {
            throw DomainError.invariantViolated("intent already \(state.rawValue), cannot move to \(next.rawValue)")
        }
        guard next == .failed || next.order > state.order else {
            throw DomainError.invariantViolated("intent cannot move from \(state.rawValue) back to \(next.rawValue)")
        }
        state = next
        steps.append(IntentStep(sequence: steps.count + 1, state: next, at: at, detail: detail,
                                journalEntries: journalEntries, events: events, auditRecords: auditRecords))
    }
}
