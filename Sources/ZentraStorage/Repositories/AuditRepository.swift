import ZentraCore

/// An audit record as served: its content and its chain links.
public struct AuditRecord: Sendable, Encodable {
    public let id: AuditRecordID
    public let object = ObjectType.auditRecord.rawValue
    public let sequence: Int64
    public let actor: String
    public let action: String
    public let objectType: String
    public let objectId: String
    public let requestId: String?
    public let idempotencyKey: String?
    public let context: JSONValue
    public let createdAt: Timestamp
    public let previousHash: String
    public let hash: String

    init(_ link: AuditChain.Link) {
        let e = link.entry
        id = e.id; sequence = e.sequence; actor = e.actor; action = e.action; objectType = e.objectType
        objectId = e.objectID; requestId = e.requestID; idempotencyKey = e.idempotencyKey; context = e.context
        createdAt = e.createdAt; previousHash = link.previousHash; hash = link.hash
    }
}

/// The tenant's audit log: its records in chain order, and the check of the chain.
public struct AuditLogRepository<Scope: TenantScope>: AggregateRepository {
    let base: Scope
}

extension TenantScope {
    public var auditLog: AuditLogRepository<Self> { AuditLogRepository(base: self) }
}

extension AuditLogRepository {
    public func list(_ request: PageRequest) async throws -> Page<AuditRecord> {
        try await base.page(request, table: "audit_log", columns: "*", order: "sequence") { AuditRecord(try decodeAuditLink($0)) }
    }

    /// Every audit record about these objects, in chain order (evidence).
    public func all(about objectIDs: [String]) async throws -> [AuditRecord] {
        try await sql.query("SELECT * FROM audit_log WHERE tenant_id = \(tenant) AND object_id IN ("
            + SQL.joined(objectIDs.map { "\($0)" }, separator: ", ") + ") ORDER BY sequence")
            .map { AuditRecord(try decodeAuditLink($0)) }
    }

    /// Walks the chain after `from` (the whole chain by default) in bounded batches, oldest first,
    /// and checks every link and the head.
    public func verify(from origin: (hash: String, sequence: Int64) = (AuditChain.genesisHash, 0),
                       batch_max: Int = 1000) async throws -> AuditChain.Verification {
        var start = origin
        var checked: Int64 = 0
        while true {
            let rows = try await sql.query("""
                SELECT * FROM audit_log WHERE tenant_id = \(tenant) AND sequence > \(start.sequence)
                ORDER BY sequence LIMIT \(batch_max)
                """)
            let result = try AuditChain.verify(try rows.map(decodeStoredLink), continuingFrom: start)
            checked += result.recordsChecked
            guard result.valid else {
                return AuditChain.Verification(valid: false, recordsChecked: checked, headHash: result.headHash,
                                               brokenAtSequence: result.brokenAtSequence, reason: result.reason,
                                               checkedFromSequence: origin.sequence)
            }
            start = (result.headHash, start.sequence + result.recordsChecked)
            if rows.count < batch_max { break }
        }
        guard let head = try await sql.queryOne("SELECT audit_sequence, audit_head_hash FROM tenants WHERE id = \(tenant)") else {
            throw DomainError.resourceMissing("tenant", id: tenant.rawValue)
        }
        guard try head.int("audit_sequence") == start.sequence, try head.string("audit_head_hash") == start.hash else {
            return AuditChain.Verification(valid: false, recordsChecked: checked, headHash: start.hash,
                                           brokenAtSequence: start.sequence + 1, reason: "records are missing after the last one found",
                                           checkedFromSequence: origin.sequence)
        }
        return AuditChain.Verification(valid: true, recordsChecked: checked, headHash: start.hash, brokenAtSequence: nil, reason: nil,
                                       checkedFromSequence: origin.sequence)
    }

    /// The records after the tenant's checkpoint (the whole chain when it has none) and the head:
    /// what a request checks, at a cost bounded by the records since the last checkpoint rather
    /// than by the chain's length. The full walk is `verify()` (`zentra audit verify`).
    public func verifyFromCheckpoint(batch_max: Int = 1000) async throws -> AuditChain.Verification {
        let checkpoint = try await sql.queryOne("SELECT sequence, hash FROM audit_checkpoints WHERE tenant_id = \(tenant)")
        return try await verify(from: try checkpoint.map { (try $0.string("hash"), try $0.int("sequence")) } ?? (AuditChain.genesisHash, 0),
                                batch_max: batch_max)
    }

    func decodeAuditLink(_ row: SQLRow) throws -> AuditChain.Link {
        AuditChain.Link(entry: try decodeEntry(row, context: try row.json("context", as: JSONValue.self)),
                        previousHash: try row.string("previous_hash"), hash: try row.string("hash"))
    }

    /// A record for verifying, its context left as stored (`AuditChain.StoredLink`).
    func decodeStoredLink(_ row: SQLRow) throws -> AuditChain.StoredLink {
        AuditChain.StoredLink(entry: try decodeEntry(row, context: .null), context: try row.bytes("context"),
                              previousHash: try row.string("previous_hash"), hash: try row.string("hash"))
    }

    private func decodeEntry(_ row: SQLRow, context: JSONValue) throws -> AuditEntry {
        AuditEntry(
            id: try row.id("id"), sequence: try row.int("sequence"), tenant: tenant, actor: try row.string("actor"),
            action: try row.string("action"), objectType: try row.string("object_type"), objectID: try row.string("object_id"),
            requestID: try row.optionalString("request_id"), idempotencyKey: try row.optionalString("idempotency_key"),
            context: context, createdAt: try row.timestamp("created_at"))
    }
}

/// Where each tenant's audit chain was last verified to: a background chore moves it forward, so
/// that a request verifies only the records since.
public enum AuditCheckpoints {
    /// Verifies each tenant's records since its checkpoint and, when they hold, moves the checkpoint
    /// to the head. A break leaves the checkpoint where it is, so every later check reports it.
    public static func advance(store: Store) async throws {
        for tenant in try await LedgerVerification.tenants(store: store) {
            // Small batches: each is verified on a thread the decisions share, without a pause.
            let result = try await store.read(tenant: tenant) { try await $0.auditLog.verifyFromCheckpoint(batch_max: 200) }
            guard result.valid, result.recordsChecked > 0 else { continue }
            let head = result.checkedFromSequence + result.recordsChecked
            let now = store.clock.now()
            try await store.engine.withTransaction { sql in
                try await sql.execute("""
                    INSERT INTO audit_checkpoints (tenant_id, sequence, hash, verified_at) VALUES (\(tenant), \(head), \(result.headHash), \(now))
                    ON CONFLICT (tenant_id) DO UPDATE SET sequence = excluded.sequence, hash = excluded.hash, verified_at = excluded.verified_at
                    WHERE audit_checkpoints.sequence < excluded.sequence
                    """)
            }
        }
    }
}
