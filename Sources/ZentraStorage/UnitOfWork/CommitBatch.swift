import Synchronization
import ZentraCore

/// The events and audit records of the units of work that share one database transaction, written
/// at its end under one lock of each tenant's head row.
///
/// The head row numbers a tenant's events and chains its audit records, so every writer of the
/// tenant queues on it. Taken at the end of each unit, it stayed locked through that unit's commit
/// (an fsync): one unit per fsync on PostgreSQL, however many connections wrote. Taken once per
/// transaction after all its units, it is held for one statement (on PostgreSQL, which numbers and
/// chains the rows itself: `postgresParts`) and one commit, whatever the number of units, and
/// numbering and the chain stay gap-free in commit order.
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
        switch sql.dialect {
        case .postgres:
            // One round trip: the head row locked, the rows numbered and chained, the head moved on.
            let parts = try Self.postgresParts(units, tenant: tenant)
            guard try await sql.queryOne(SQL.with(parts, recursive: true, "SELECT count(*) AS found FROM head").prepared())?.int("found") == 1
            else { throw DomainError.resourceMissing("tenant", id: tenant.rawValue) }
        case .sqlite:
            guard let row = try await sql.queryOne(
                "SELECT event_sequence, audit_sequence, audit_head_hash FROM tenants WHERE id = \(tenant)")
            else { throw DomainError.resourceMissing("tenant", id: tenant.rawValue) }
            let head = TenantHead(eventSequence: try row.int("event_sequence"), auditSequence: try row.int("audit_sequence"),
                                  auditHash: try row.string("audit_head_hash"))
            let (events, audits, after) = try Self.rows(units, tenant: tenant, after: head)
            try await sql.insert(events)
            try await sql.insert(audits)
            try await sql.execute(("""
                UPDATE tenants SET event_sequence = \(after.eventSequence), audit_sequence = \(after.auditSequence),
                    audit_head_hash = \(after.auditHash) WHERE id = \(tenant)
                """ as SQL).prepared())
        }
    }

    /// PostgreSQL numbers the units' events and chains their audit records in the statement that
    /// writes them, so that the tenant's head row is locked for that statement and its commit only.
    /// These parts of a `WITH RECURSIVE` statement lock the head row (`head`) once the parts named
    /// in `after` have run (the rows locked before it, as every writer of the tenant does), write
    /// the events and audit records and move the head on. The chain's hashes are computed by
    /// PostgreSQL (`sha256`) over `AuditChain.canonicalParts` around each record's number, which
    /// is the same hash (`AuditChain.hash`) that verification computes.
    static func postgresParts(_ units: [Unit], tenant: TenantID, after: [String] = []) throws -> [(name: String, sql: SQL)] {
        var events = BulkRows("events", [
            .init("id", .text), .init("tenant_id", .text), .init("type", .text), .init("object_type", .text), .init("object_id", .text),
            .init("data", .text), .init("object_version", .bigint), .init("request_id", .text), .init("created_at", .bigint),
        ])
        var audits = BulkRows("audit_log", [
            .init("id", .text), .init("tenant_id", .text), .init("actor", .text), .init("action", .text), .init("object_type", .text),
            .init("object_id", .text), .init("request_id", .text), .init("idempotency_key", .text), .init("context", .text),
            .init("created_at", .bigint), .init("prefix", .text), .init("suffix", .text),
        ])
        for unit in units {
            for event in unit.events {
                events.append([event.id.sqlValue, tenant.sqlValue, .text(event.type), .text(event.objectType), .text(event.objectID),
                               event.data.sqlValue, event.objectVersion.sqlValue, unit.scope.requestID.sqlValue, unit.now.sqlValue])
            }
            for audit in unit.audits {
                let entry = AuditEntry(
                    id: audit.id, sequence: 0, tenant: tenant, actor: unit.scope.actor, action: audit.action, objectType: audit.objectType,
                    objectID: audit.objectID, requestID: unit.scope.requestID, idempotencyKey: unit.scope.idempotency?.key,
                    context: audit.context, createdAt: unit.now)
                let (prefix, suffix) = AuditChain.canonicalParts(entry)
                audits.append([entry.id.sqlValue, tenant.sqlValue, .text(entry.actor), .text(entry.action), .text(entry.objectType),
                               .text(entry.objectID), entry.requestID.sqlValue, entry.idempotencyKey.sqlValue,
                               .text(entry.context.serializedString), unit.now.sqlValue, .text(String(decoding: prefix, as: UTF8.self)),
                               .text(String(decoding: suffix, as: UTF8.self))])
            }
        }
        let ordered = after.map { " AND (SELECT count(*) FROM \($0)) >= 0" }.joined()
        var parts: [(name: String, sql: SQL)] = [
            ("head", "SELECT event_sequence, audit_sequence, audit_head_hash FROM tenants WHERE id = \(tenant)\(raw: ordered) FOR UPDATE"),
        ]
        if !events.isEmpty {
            parts.append(("event_rows", """
                INSERT INTO events (id, tenant_id, sequence, type, object_type, object_id, data, object_version, request_id, created_at)
                SELECT v.id, v.tenant_id, head.event_sequence + v.n, v.type, v.object_type, v.object_id, v.data, v.object_version,
                       v.request_id, v.created_at
                FROM head,
                """ + " " + (try events.unnested("v", ordinality: true))))
        }
        if !audits.isEmpty {
            parts.append(("audits_in", "SELECT * FROM " + (try audits.unnested("v", ordinality: true))))
            parts.append(("chain", """
                SELECT 0::bigint AS n, audit_sequence AS sequence, audit_head_hash AS hash, NULL::text AS previous FROM head
                UNION ALL
                SELECT a.n, c.sequence + 1,
                       encode(sha256(convert_to(c.hash || chr(10) || a.prefix || (c.sequence + 1)::text || a.suffix, 'UTF8')), 'hex'), c.hash
                FROM chain c JOIN audits_in a ON a.n = c.n + 1
                """))
            parts.append(("audit_rows", """
                INSERT INTO audit_log (id, tenant_id, sequence, actor, action, object_type, object_id, request_id, idempotency_key,
                                       context, created_at, previous_hash, hash)
                SELECT a.id, a.tenant_id, c.sequence, a.actor, a.action, a.object_type, a.object_id, a.request_id, a.idempotency_key,
                       a.context, a.created_at, c.previous, c.hash
                FROM audits_in a JOIN chain c ON c.n = a.n
                """))
        }
        let lastHash: SQL = audits.isEmpty ? "head.audit_head_hash" : "(SELECT hash FROM chain ORDER BY n DESC LIMIT 1)"
        parts.append(("moved", """
            UPDATE tenants SET event_sequence = head.event_sequence + \(Int64(events.rows.count)),
                audit_sequence = head.audit_sequence + \(Int64(audits.rows.count)), audit_head_hash =
            """ + " " + lastHash + " FROM head WHERE tenants.id = \(tenant)"))
        return parts.map { ($0.name, $0.sql.prepared()) }
    }

    /// SQLite's event and audit rows: the units' events numbered after `head`, their audit records
    /// chained after its hash, in the order the units ran; and the head after them.
    private static func rows(_ units: [Unit], tenant: TenantID, after head: TenantHead) throws -> (events: BulkRows, audits: BulkRows, head: TenantHead) {
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
