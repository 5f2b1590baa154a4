import Foundation
import Synchronization
import ZentraCore

/// One unit of work in flight. Domain rows are written as the use case goes; runtime intents and the
/// idempotency result are collected and written by `commitPending()` at the end; events and audit
/// records go from there to the transaction's `CommitBatch`, numbered and chained at its end.
public final class WriteTransaction: TenantScope {
    public let scope: WriteScope
    public let sql: any SQLExecutor
    public let ids: any IDGenerator
    /// The one clock reading of this unit of work: every row it writes carries this time.
    public let now: Timestamp
    public var tenant: TenantID { scope.tenant }

    private struct Pending {
        var events: [CommitBatch.PendingEvent] = []
        var audits: [CommitBatch.PendingAudit] = []
        var intents: [RuntimeIntent] = []
        var idempotentResponse: StoredResponse?
        /// System ledger account ids by system key, read once per unit of work.
        var systemAccounts: [String: LedgerAccountID] = [:]
    }

    /// Guards the collected rows; a unit of work runs in one task, the lock makes that checkable.
    private let pending = Mutex(Pending())

    init(scope: WriteScope, sql: any SQLExecutor, ids: any IDGenerator, now: Timestamp) {
        self.scope = scope
        self.sql = sql
        self.ids = ids
        self.now = now
    }

    public func newID<Kind: IdentifierKind>(_ kind: Kind.Type = Kind.self) -> ID<Kind> { ids.next(kind) }

    /// Queues an event; it is numbered in the tenant's order when the unit of work commits.
    @discardableResult
    public func emit(_ type: EventType, objectType: ObjectType, objectID: String, data: some Encodable) throws -> EventID {
        queue(type.rawValue, objectType: objectType, objectID: objectID, rendered: try ZentraJSON.encodeString(data))
    }

    /// Queues an event whose payload is already rendered JSON.
    @discardableResult
    public func emit(_ type: EventType, objectType: ObjectType, objectID: String, rendered json: [UInt8]) -> EventID {
        queue(type.rawValue, objectType: objectType, objectID: objectID, rendered: String(decoding: json, as: UTF8.self))
    }

    /// Queues an event whose body is rendered from its object's stored record when read: the
    /// object as it was at `objectVersion` (0: as first decided). Nothing of the body is written.
    @discardableResult
    public func emit(_ type: EventType, objectType: ObjectType, objectID: String, objectVersion: Int64) -> EventID {
        queue(type.rawValue, objectType: objectType, objectID: objectID, rendered: nil, objectVersion: objectVersion)
    }

    private func queue(_ type: String, objectType: ObjectType, objectID: String, rendered json: String?, objectVersion: Int64? = nil) -> EventID {
        let id: EventID = newID()
        pending.withLock {
            $0.events.append(CommitBatch.PendingEvent(id: id, type: type, objectType: objectType.rawValue, objectID: objectID, data: json,
                                                      objectVersion: objectVersion))
        }
        return id
    }

    /// Queues an audit record for this unit of work's actor, request and idempotency key.
    @discardableResult
    public func audit(_ action: AuditAction, objectType: ObjectType, objectID: String, context: JSONValue = .object([:])) -> AuditRecordID {
        let id: AuditRecordID = newID()
        pending.withLock {
            $0.audits.append(CommitBatch.PendingAudit(id: id, action: action.rawValue, objectType: objectType.rawValue, objectID: objectID, context: context))
        }
        return id
    }

    func cachedSystemAccount(_ key: String) -> LedgerAccountID? { pending.withLock { $0.systemAccounts[key] } }
    func cacheSystemAccount(_ key: String, _ id: LedgerAccountID) { pending.withLock { $0.systemAccounts[key] = id } }

    public func record(_ intent: RuntimeIntent) {
        pending.withLock { $0.intents.append(intent) }
    }

    /// Intents recorded so far by this unit of work (written at commit).
    public var recordedIntents: [RuntimeIntent] { pending.withLock { $0.intents } }

    /// The response to store under this unit of work's idempotency key, committed with the effect.
    public func storeIdempotentResponse(_ response: StoredResponse) {
        pending.withLock { $0.idempotentResponse = response }
    }

    func commitPending() async throws {
        let work = pending.withLock { $0 }
        for intent in work.intents {
            try await insertIntent(intent)
        }
        if let claim = scope.idempotency, let response = work.idempotentResponse {
            try await IdempotencyRecords.complete(claim, tenant: tenant, response: response, sql: sql)
        }
        // Numbered and chained at the end of the database transaction this unit shares.
        guard let batch = sql.batch else { throw StoreError.other("a unit of work ran outside a write transaction") }
        batch.append(CommitBatch.Unit(scope: scope, now: now, events: work.events, audits: work.audits))
    }

    private func insertIntent(_ intent: RuntimeIntent) async throws {
        try await sql.execute("""
            INSERT INTO runtime_intents (id, tenant_id, intent_key, type, scope, money_model, primitives, status, steps,
                                         subject, created_at)
            VALUES (\(intent.id), \(tenant), \(intent.intentId), \(intent.type), \(intent.scope), \(intent.moneyModel),
                    \(try ZentraJSON.encodeString(intent.primitives)), \(intent.status),
                    \(try ZentraJSON.encodeString(intent.steps)), \(intent.subject), \(intent.createdAt))
            """)
    }
}
