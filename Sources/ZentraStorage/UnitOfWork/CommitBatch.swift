import Synchronization
import ZentraCore

/// The events and audit records of the units of work that share one database transaction, written
/// at its end under one lock of each tenant's head row.
///
/// The head row numbers a tenant's events and chains its audit records, so every writer of the
/// tenant queues on it. Taken at the end of each unit, it stayed locked through that unit's commit
/// (an fsync): one unit per fsync on PostgreSQL, however many connections wrote. Taken once per
/// transaction after all its units, it is held for two statements and one commit, whatever the
/// number of units, and numbering and the chain stay gap-free in commit order.
public final class CommitBatch: Sendable {
    struct Unit: Sendable {
        let scope: WriteScope
        let now: Timestamp
        let events: [PendingEvent]
        let audits: [PendingAudit]
    }

    struct PendingEvent: Sendable {
        let id: EventID
        let type: String
        let objectType: String
        let objectID: String
        /// The body as rendered now; nil for an event rendered from its object's record on read,
        /// at `objectVersion`.
        let data: String?
        let objectVersion: Int64?
    }

    struct PendingAudit: Sendable {
        let id: AuditRecordID
        let action: String
        let objectType: String
        let objectID: String
        let context: JSONValue
    }

    private let units = Mutex<[Unit]>([])

    init() {}

    func append(_ unit: Unit) {
        guard !unit.events.isEmpty || !unit.audits.isEmpty else { return }
        units.withLock { $0.append(unit) }
    }

    /// How many units are queued: a unit rolled back to its savepoint drops what it queued after this.
    var mark: Int { units.withLock { $0.count } }

    func truncate(to mark: Int) {
        units.withLock { $0.removeLast($0.count - mark) }
    }

    /// Writes every queued unit's events and audit records, tenant by tenant in id order (the lock
    /// order of head rows across transactions), units in the order they ran.
    func write(_ sql: any SQLExecutor) async throws {
        let queued = units.withLock { $0 }
        let tenants = Dictionary(grouping: queued, by: \.scope.tenant)
        for tenant in tenants.keys.sorted() {
            try await write(tenants[tenant]!, tenant: tenant, sql: sql)
        }
    }

    private func write(_ units: [Unit], tenant: TenantID, sql: any SQLExecutor) async throws {
        let eventCount = units.reduce(0) { $0 + $1.events.count }
        let auditCount = units.reduce(0) { $0 + $1.audits.count }
        // One UPDATE locks the head row, reserves the numbers and answers the previous audit hash.
        guard let row = try await sql.queryOne(("""
            UPDATE tenants SET event_sequence = event_sequence + \(eventCount), audit_sequence = audit_sequence + \(auditCount)
            WHERE id = \(tenant) RETURNING event_sequence, audit_sequence, audit_head_hash
            """ as SQL).prepared())
        else { throw DomainError.resourceMissing("tenant", id: tenant.rawValue) }
        let head = TenantHead(eventSequence: try row.int("event_sequence") - Int64(eventCount),
                              auditSequence: try row.int("audit_sequence") - Int64(auditCount), auditHash: try row.string("audit_head_hash"))
        let (events, audits, after) = try Self.rows(units, tenant: tenant, after: head)
        let headUpdate: SQL? = audits.isEmpty ? nil : ("UPDATE tenants SET audit_head_hash = \(after.auditHash) WHERE id = \(tenant)" as SQL).prepared()
        switch sql.dialect {
        case .postgres:
            // One round trip: each table's rows from arrays, as parts of one statement.
            var parts = try [events, audits].filter { !$0.isEmpty }.map { try $0.insertStatement() }
            if let headUpdate { parts.append(headUpdate) }
            if let statement = SQL.together(parts) { try await sql.execute(statement) }
        case .sqlite:
            try await sql.insert(events)
            try await sql.insert(audits)
            if let headUpdate { try await sql.execute(headUpdate) }
        }
    }

    /// The one writer of event and audit rows: the units' events numbered after `head`, their audit
    /// records chained after its hash, in the order the units ran; and the head after them.
    static func rows(_ units: [Unit], tenant: TenantID, after head: TenantHead) throws -> (events: BulkRows, audits: BulkRows, head: TenantHead) {
        var (eventSequence, auditSequence, auditHash) = (head.eventSequence, head.auditSequence, head.auditHash)
        var events = BulkRows("events", [
            .init("id", .text), .init("tenant_id", .text), .init("sequence", .bigint), .init("type", .text), .init("object_type", .text),
            .init("object_id", .text), .init("data", .text), .init("object_version", .bigint), .init("request_id", .text),
            .init("created_at", .bigint),
        ])
        var audits = BulkRows("audit_log", [
            .init("id", .text), .init("tenant_id", .text), .init("sequence", .bigint), .init("actor", .text), .init("action", .text),
            .init("object_type", .text), .init("object_id", .text), .init("request_id", .text), .init("idempotency_key", .text),
            .init("context", .text), .init("created_at", .bigint), .init("previous_hash", .text), .init("hash", .text),
        ])
        for unit in units {
            for event in unit.events {
                eventSequence += 1
                events.append([event.id.sqlValue, tenant.sqlValue, .int(eventSequence), .text(event.type), .text(event.objectType),
                               .text(event.objectID), event.data.sqlValue, event.objectVersion.sqlValue, unit.scope.requestID.sqlValue,
                               unit.now.sqlValue])
            }
            for audit in unit.audits {
                auditSequence += 1
                let entry = AuditEntry(
                    id: audit.id, sequence: auditSequence, tenant: tenant, actor: unit.scope.actor, action: audit.action,
                    objectType: audit.objectType, objectID: audit.objectID, requestID: unit.scope.requestID,
                    idempotencyKey: unit.scope.idempotency?.key, context: audit.context, createdAt: unit.now)
                let hash = try AuditChain.hash(previous: auditHash, entry: entry)
                audits.append([entry.id.sqlValue, tenant.sqlValue, .int(entry.sequence), .text(entry.actor), .text(entry.action),
                               .text(entry.objectType), .text(entry.objectID), entry.requestID.sqlValue, entry.idempotencyKey.sqlValue,
                               .text(entry.context.serializedString), unit.now.sqlValue, .text(auditHash), .text(hash)])
                auditHash = hash
            }
        }
        return (events, audits, TenantHead(eventSequence: eventSequence, auditSequence: auditSequence, auditHash: auditHash))
    }
}

/// Where a tenant's event order and audit chain stand: its last event's and audit record's numbers,
/// and the last record's hash (the tenant row, which every writer of the tenant takes last).
public struct TenantHead: Sendable {
    let eventSequence: Int64
    let auditSequence: Int64
    let auditHash: String
}
