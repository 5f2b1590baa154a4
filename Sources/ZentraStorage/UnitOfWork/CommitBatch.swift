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

    /// Rows per multi-row insert: keeps a large batch (clearing-file windows carry hundreds of
    /// events each) under PostgreSQL's 65,535 bound parameters.
    static let rowsPerStatement_max = 500

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
        guard let head = try await sql.queryOne("""
            UPDATE tenants SET event_sequence = event_sequence + \(eventCount), audit_sequence = audit_sequence + \(auditCount)
            WHERE id = \(tenant) RETURNING event_sequence, audit_sequence, audit_head_hash
            """)
        else { throw DomainError.resourceMissing("tenant", id: tenant.rawValue) }
        var eventSequence = try head.int("event_sequence") - Int64(eventCount)
        var auditSequence = try head.int("audit_sequence") - Int64(auditCount)
        var auditHash = try head.string("audit_head_hash")

        var eventRows: [SQL] = []
        var auditRows: [SQL] = []
        for unit in units {
            for event in unit.events {
                eventSequence += 1
                eventRows.append("""
                    (\(event.id), \(tenant), \(eventSequence), \(event.type), \(event.objectType), \(event.objectID),
                     \(event.data), \(event.objectVersion), \(unit.scope.requestID), \(unit.now))
                    """)
            }
            for audit in unit.audits {
                auditSequence += 1
                let entry = AuditEntry(
                    id: audit.id, sequence: auditSequence, tenant: tenant, actor: unit.scope.actor, action: audit.action,
                    objectType: audit.objectType, objectID: audit.objectID, requestID: unit.scope.requestID,
                    idempotencyKey: unit.scope.idempotency?.key, context: audit.context, createdAt: unit.now)
                let hash = try AuditChain.hash(previous: auditHash, entry: entry)
                auditRows.append("""
                    (\(entry.id), \(tenant), \(entry.sequence), \(entry.actor), \(entry.action), \(entry.objectType),
                     \(entry.objectID), \(entry.requestID), \(entry.idempotencyKey), \(entry.context.serializedString), \(unit.now),
                     \(auditHash), \(hash))
                    """)
                auditHash = hash
            }
        }
        let eventInsert: SQL = "INSERT INTO events (id, tenant_id, sequence, type, object_type, object_id, data, object_version, request_id, created_at) VALUES "
        let auditInsert: SQL = """
            INSERT INTO audit_log (id, tenant_id, sequence, actor, action, object_type, object_id, request_id,
                                   idempotency_key, context, created_at, previous_hash, hash) VALUES
            """
        let headUpdate: SQL? = auditRows.isEmpty ? nil : "UPDATE tenants SET audit_head_hash = \(auditHash) WHERE id = \(tenant)"
        switch sql.dialect {
        case .postgres:
            // Multi-row inserts as data-modifying CTEs: every part runs, a few per round trip (chunks
            // bound the parameters).
            var statements = eventRows.chunked(Self.rowsPerStatement_max).map { eventInsert + SQL.joined(Array($0), separator: ", ") }
            statements += auditRows.chunked(Self.rowsPerStatement_max).map { auditInsert + SQL.joined(Array($0), separator: ", ") }
            if let headUpdate { statements.append(headUpdate) }
            for group in statements.chunked(3) {
                let ctes = group.dropLast().enumerated().map { index, statement in "w\(raw: String(index)) AS (" + statement + ")" }
                try await sql.execute((ctes.isEmpty ? "" : "WITH " + SQL.joined(Array(ctes), separator: ", ") + " ") + group.last!)
            }
        case .sqlite:
            // One row per statement: the statement stays prepared, where a multi-row insert's text
            // changes with its row count and is compiled again each time (perf: a fifth slower).
            for row in eventRows { try await sql.execute(eventInsert + row) }
            for row in auditRows { try await sql.execute(auditInsert + row) }
            if let headUpdate { try await sql.execute(headUpdate) }
        }
    }
}

extension Array {
    /// Consecutive slices of at most `size` elements.
    func chunked(_ size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}
