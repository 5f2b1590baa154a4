import Logging
import ZentraCore

/// Who writes, and on whose behalf: every unit of work is scoped to one tenant and one actor.
public struct WriteScope: Sendable {
    public let tenant: TenantID
    public let actor: String
    public let requestID: String?
    public let idempotency: IdempotencyClaim?

    public init(tenant: TenantID, actor: String, requestID: String?, idempotency: IdempotencyClaim? = nil) {
        self.tenant = tenant
        self.actor = actor
        self.requestID = requestID
        self.idempotency = idempotency
    }
}

/// The one way Zentra writes. `write` runs a unit of work in ONE database transaction that commits
/// the domain rows, the balanced journal entries, the events, the audit records and the idempotency
/// record together, or none of them.
///
/// Callers hand over a closure and await its result; they never see the transaction boundary. That
/// is the seam for group commit: a later writer may run many independent closures in one database
/// commit (one savepoint each) without any caller changing.
public struct Store: Sendable {
    public let engine: any DatabaseEngine
    public let ids: any IDGenerator
    public let clock: any WallClock
    public let logger: Logger
    /// How often a unit of work that lost a race (deadlock, serialization failure, busy) is run again.
    public let conflictRetries_max = 5
    /// The card states and network references this process's decisions last read or wrote.
    let decisionMemory = DecisionMemory()

    public init(engine: any DatabaseEngine, ids: any IDGenerator, clock: any WallClock, logger: Logger) {
        self.engine = engine
        self.ids = ids
        self.clock = clock
        self.logger = logger
    }

    public func write<T: Sendable>(
        _ scope: WriteScope, _ body: @escaping @Sendable (WriteTransaction) async throws -> T
    ) async throws -> T {
        var attempt = 1
        var rerunAfterUniqueViolation = false
        while true {
            do {
                return try await engine.withTransaction { sql in
                    let tx = WriteTransaction(scope: scope, sql: sql, ids: ids, now: clock.now())
                    let result = try await body(tx)
                    try await tx.commitPending()
                    return result
                }
            } catch StoreError.retryable(let reason) where attempt < conflictRetries_max {
                logger.debug("unit of work retried", metadata: ["reason": "\(reason)", "attempt": "\(attempt)"])
                attempt += 1
            } catch StoreError.uniqueViolation where !rerunAfterUniqueViolation {
                // A concurrent unit of work committed the same client key first (a transaction
                // reference, an intent id). Running once more lets the use case see that row and
                // answer as it does for any repeat; a second violation is a real conflict.
                rerunAfterUniqueViolation = true
            }
        }
    }

    /// Reads scoped to one tenant. Statements see committed data; a read that needs one consistent
    /// view of several rows is written as one statement.
    public func read<T: Sendable>(tenant: TenantID, _ body: @escaping @Sendable (ReadScope) async throws -> T) async throws -> T {
        try await engine.withReader { sql in try await body(ReadScope(tenant: tenant, sql: sql)) }
    }
}

/// Anything that runs tenant-scoped statements: repositories are written against this, so a query
/// without its tenant cannot be expressed.
public protocol TenantScope: Sendable {
    var tenant: TenantID { get }
    var sql: any SQLExecutor { get }
}

public struct ReadScope: TenantScope {
    public let tenant: TenantID
    public let sql: any SQLExecutor
}
