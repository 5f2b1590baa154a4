import ZentraCore

/// Set-based work as a use case writes it: items of many requests run together in one
/// transaction (`BatchTransaction`), with one outcome each.
public protocol StoreBatchWork: Sendable {
    associatedtype Item: Sendable
    associatedtype Answer: Sendable
    func run(_ items: [Item], in tx: BatchTransaction) async throws -> [BatchOutcome<Answer>]

    /// Whether these items may run without a transaction (`BatchWork`); false unless the work says.
    func mayRunWithoutTransaction(_ items: [Item]) -> Bool
}

extension StoreBatchWork {
    public func mayRunWithoutTransaction(_ items: [Item]) -> Bool { false }
}

extension Store {
    /// Runs `item` with the other items of `work` that arrive meanwhile, in one transaction that
    /// commits them together (or runs again, whole, when it lost a race).
    public func run<W: StoreBatchWork>(_ item: W.Item, in work: W) async throws -> W.Answer {
        try await engine.withItem(item, of: StoreBatch(work: work, ids: ids, clock: clock, memory: decisionMemory))
    }
}

/// A store's set-based work as the engine runs it: each transaction gets its clock reading.
struct StoreBatch<Work: StoreBatchWork>: BatchWork {
    let work: Work
    let ids: any IDGenerator
    let clock: any WallClock
    let memory: DecisionMemory

    func run(_ items: [Work.Item], on sql: any SQLExecutor, locksRows: Bool) async throws -> [BatchOutcome<Work.Answer>] {
        try await work.run(items, in: BatchTransaction(sql: sql, ids: ids, now: clock.now(), locksRows: locksRows, memory: memory))
    }

    func mayRunWithoutTransaction(_ items: [Work.Item]) -> Bool { work.mayRunWithoutTransaction(items) }
}

/// One transaction shared by the items of set-based work: its statements, its one clock reading and
/// ids. Items may be of several tenants: every read and write here names its tenant. Set-based work
/// writes its events and audit records as units of work do (`CommitBatch`).
public struct BatchTransaction: Sendable {
    public let sql: any SQLExecutor
    let ids: any IDGenerator
    /// Every row the transaction writes carries this time.
    public let now: Timestamp
    /// Whether this is a transaction whose reads lock the rows they decide on; if not, each
    /// statement commits alone and the write checks the rows are still as read (`DecisionReads`).
    public let locksRows: Bool
    /// What this process last read or wrote of the rows decisions read (`DecisionMemory`).
    let memory: DecisionMemory

    public func newID<Kind: IdentifierKind>(_ kind: Kind.Type = Kind.self) -> ID<Kind> { ids.next(kind) }

    /// Reads of one tenant's rows inside this transaction.
    public func scope(_ tenant: TenantID) -> ReadScope { ReadScope(tenant: tenant, sql: sql) }

    /// An event of an item, rendered from its object's record when read (see `WriteTransaction.emit`).
    public struct Event: Sendable {
        let type: String
        let objectType: String
        let objectID: String
        let objectVersion: Int64

        public init(_ type: EventType, objectType: ObjectType, objectID: String, objectVersion: Int64) {
            self.type = type.rawValue
            self.objectType = objectType.rawValue
            self.objectID = objectID
            self.objectVersion = objectVersion
        }
    }

    public struct Audit: Sendable {
        let action: String
        let objectType: String
        let objectID: String
        let context: JSONValue

        public init(_ action: AuditAction, objectType: ObjectType, objectID: String, context: JSONValue) {
            self.action = action.rawValue
            self.objectType = objectType.rawValue
            self.objectID = objectID
            self.context = context
        }
    }
}
