import ZentraCore
import ZentraStorage

/// How a workflow is named in the runtime: the client's `intent_id` and scope when it came through
/// `POST /runtime/intents`, generated ones otherwise.
public struct IntentSpec: Sendable {
    public var key: String?
    public var scope: String
    public var moneyModel: String
    public var primitives: [String]

    public static let moneyModel = "minor_units + ledger_currency"
    public static let knownPrimitives = ["policy", "ledger", "events", "audit"]

    public init(key: String? = nil, scope: String = "tenant", moneyModel: String = IntentSpec.moneyModel,
                primitives: [String] = IntentSpec.knownPrimitives) {
        self.key = key
        self.scope = scope
        self.moneyModel = moneyModel
        self.primitives = primitives
    }
}

/// Walks one workflow through `IntentMachine` inside a unit of work and records it at the end.
struct IntentTracker {
    let id: IntentID
    let spec: IntentSpec
    let type: IntentType
    private(set) var machine: IntentMachine
    private let tx: WriteTransaction

    init(_ tx: WriteTransaction, type: IntentType, spec: IntentSpec, detail: String) {
        self.tx = tx
        self.id = tx.newID()
        self.spec = spec
        self.type = type
        self.machine = IntentMachine(at: tx.now, detail: detail)
    }

    mutating func advance(
        _ state: IntentState, _ detail: String, journalEntries: [JournalEntryID] = [], events: [EventID] = [],
        auditRecords: [AuditRecordID] = []
    ) throws {
        try machine.advance(to: state, at: tx.now, detail: detail, journalEntries: journalEntries, events: events,
                            auditRecords: auditRecords)
    }

    /// Completes the intent and queues it for the commit of this unit of work.
    mutating func complete(subject: String) throws -> RuntimeIntent {
        try advance(.completed, "committed with its ledger entries, events and audit records")
        let intent = RuntimeIntent(
            id: id, intentID: spec.key ?? id.rawValue, type: type.rawValue, scope: spec.scope, moneyModel: spec.moneyModel,
            primitives: spec.primitives, status: machine.state, steps: machine.steps, subject: subject, createdAt: tx.now)
        tx.record(intent)
        return intent
    }
}
