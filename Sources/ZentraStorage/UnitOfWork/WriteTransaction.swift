import Foundation
import Synchronization
import ZentraCore

/// One unit of work in flight. Domain rows are written as the use case goes; events, audit records,
/// runtime intents and the idempotency result are collected and written by `commitPending()` at the
/// end, after the tenant head row is locked, so that numbering and the audit chain stay gap-free.
public final class WriteTransaction: TenantScope {
    public let scope: WriteScope
    public let sql: any SQLExecutor
    public let ids: any IDGenerator
    /// The one clock reading of this unit of work: every row it writes carries this time.
    public let now: Timestamp
    public var tenant: TenantID { scope.tenant }

    private struct Pending {
        var events: [PendingEvent] = []
        var audits: [PendingAudit] = []
        var intents: [RuntimeIntent] = []
        var idempotentResponse: StoredResponse?
        /// System ledger account ids by system key, read once per unit of work.
        var systemAccounts: [String: LedgerAccountID] = [:]
    }

    private struct PendingEvent {
        let id: EventID
        let type: String
        let objectType: String
        let objectID: String
        let data: String
    }

    private struct PendingAudit {
        let id: AuditRecordID
        let action: String
        let objectType: String
        let objectID: String
        let context: JSONValue
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
    public func emit(_ type: String, objectType: String, objectID: String, data: some Encodable) throws -> EventID {
        queue(type, objectType: objectType, objectID: objectID, rendered: try ZentraJSON.encodeString(data))
    }

    /// Queues an event whose payload is already rendered JSON (the authorization path renders a
    /// decision once, for its event and its answer).
    @discardableResult
    public func emit(_ type: String, objectType: String, objectID: String, rendered json: [UInt8]) -> EventID {
        queue(type, objectType: objectType, objectID: objectID, rendered: String(decoding: json, as: UTF8.self))
    }

    private func queue(_ type: String, objectType: String, objectID: String, rendered json: String) -> EventID {
        let id: EventID = newID()
        pending.withLock {
            $0.events.append(PendingEvent(id: id, type: type, objectType: objectType, objectID: objectID, data: json))
        }
        return id
    }

    /// Queues an audit record for this unit of work's actor, request and idempotency key.
    @discardableResult
    public func audit(_ action: String, objectType: String, objectID: String, context: JSONValue = .object([:])) -> AuditRecordID {
        let id: AuditRecordID = newID()
        pending.withLock {
            $0.audits.append(PendingAudit(id: id, action: action, objectType: objectType, objectID: objectID, context: context))
        }
        return id
    }

    /// Runs `body` as a part of this unit of work that fails alone: when it throws, its statements
    /// are rolled back to a savepoint, the events and audit records it queued are dropped, and the
    /// error is rethrown for the caller to answer; what ran before it stays. A clearing file runs
    /// each of its records so, many to one unit of work and one commit.
    public func part<T>(_ body: () async throws -> T) async throws -> T {
        let mark = pending.withLock { ($0.events.count, $0.audits.count, $0.intents.count) }
        try await sql.execute("SAVEPOINT part")
        do {
            let result = try await body()
            try await sql.execute("RELEASE part")
            return result
        } catch {
            try await sql.execute("ROLLBACK TO part")
            try await sql.execute("RELEASE part")
            pending.withLock {
                $0.events.removeLast($0.events.count - mark.0)
                $0.audits.removeLast($0.audits.count - mark.1)
                $0.intents.removeLast($0.intents.count - mark.2)
                // An account created by the rolled-back part no longer exists.
                $0.systemAccounts.removeAll()
            }
            throw error
        }
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
        guard !work.events.isEmpty || !work.audits.isEmpty else { return }

        // Last lock of the unit of work, so no transaction waits for it while holding it. One UPDATE
        // locks the head row, reserves the event and audit numbers and answers the previous audit
        // hash; one more statement (on PostgreSQL) writes the events, the audit records and the new
        // head hash. The row is held for two round trips and the commit.
        guard let head = try await sql.queryOne("""
            UPDATE tenants SET event_sequence = event_sequence + \(work.events.count),
                               audit_sequence = audit_sequence + \(work.audits.count)
            WHERE id = \(tenant) RETURNING event_sequence, audit_sequence, audit_head_hash
            """)
        else { throw DomainError.resourceMissing("tenant", id: tenant.rawValue) }
        var eventSequence = try head.int("event_sequence") - Int64(work.events.count)
        var auditSequence = try head.int("audit_sequence") - Int64(work.audits.count)
        var auditHash = try head.string("audit_head_hash")

        var statements: [SQL] = []
        if !work.events.isEmpty {
            statements.append("""
                INSERT INTO events (id, tenant_id, sequence, type, object_type, object_id, data, request_id, created_at) VALUES
                """ + SQL.joined(work.events.map { event in
                    eventSequence += 1
                    return """
                        (\(event.id), \(tenant), \(eventSequence), \(event.type), \(event.objectType), \(event.objectID),
                         \(event.data), \(scope.requestID), \(now))
                        """
                }, separator: ", "))
        }
        if !work.audits.isEmpty {
            var rows: [SQL] = []
            for audit in work.audits {
                auditSequence += 1
                let entry = AuditEntry(
                    id: audit.id, sequence: auditSequence, tenant: tenant, actor: scope.actor, action: audit.action,
                    objectType: audit.objectType, objectID: audit.objectID, requestID: scope.requestID,
                    idempotencyKey: scope.idempotency?.key, context: audit.context, createdAt: now)
                let hash = try AuditChain.hash(previous: auditHash, entry: entry)
                rows.append("""
                    (\(entry.id), \(tenant), \(entry.sequence), \(entry.actor), \(entry.action), \(entry.objectType),
                     \(entry.objectID), \(entry.requestID), \(entry.idempotencyKey), \(entry.context.serializedString), \(now),
                     \(auditHash), \(hash))
                    """)
                auditHash = hash
            }
            statements.append("""
                INSERT INTO audit_log (id, tenant_id, sequence, actor, action, object_type, object_id, request_id,
                                       idempotency_key, context, created_at, previous_hash, hash) VALUES
                """ + SQL.joined(rows, separator: ", "))
            statements.append("UPDATE tenants SET audit_head_hash = \(auditHash) WHERE id = \(tenant)")
        }
        switch sql.dialect {
        case .postgres:
            // Data-modifying CTEs: every part runs, in one round trip.
            let ctes = statements.dropLast().enumerated().map { index, statement in "w\(raw: String(index)) AS (" + statement + ")" }
            try await sql.execute((ctes.isEmpty ? "" : "WITH " + SQL.joined(Array(ctes), separator: ", ") + " ") + statements.last!)
        case .sqlite:
            for statement in statements { try await sql.execute(statement) }
        }
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
