import ZentraCore

/// An audit record as served: its content and its chain links.
public struct AuditRecord: Sendable, Encodable {
    public let id: AuditRecordID
    public let object = "audit_record"
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

    /// Walks the whole chain in bounded batches, oldest first, and checks every link and the head.
    public func verify(batch_max: Int = 1000) async throws -> AuditChain.Verification {
        var start = (hash: AuditChain.genesisHash, sequence: Int64(0))
        var checked: Int64 = 0
        while true {
            let rows = try await sql.query("""
                SELECT * FROM audit_log WHERE tenant_id = \(tenant) AND sequence > \(start.sequence)
                ORDER BY sequence LIMIT \(batch_max)
                """)
            let result = try AuditChain.verify(try rows.map(decodeAuditLink), continuingFrom: start)
            checked += result.recordsChecked
            guard result.valid else {
                return AuditChain.Verification(valid: false, recordsChecked: checked, headHash: result.headHash,
                                               brokenAtSequence: result.brokenAtSequence, reason: result.reason)
            }
            start = (result.headHash, start.sequence + result.recordsChecked)
            if rows.count < batch_max { break }
        }
        guard let head = try await sql.queryOne("SELECT audit_sequence, audit_head_hash FROM tenants WHERE id = \(tenant)") else {
            throw DomainError.resourceMissing("tenant", id: tenant.rawValue)
        }
        guard try head.int("audit_sequence") == start.sequence, try head.string("audit_head_hash") == start.hash else {
            return AuditChain.Verification(valid: false, recordsChecked: checked, headHash: start.hash,
                                           brokenAtSequence: start.sequence + 1, reason: "records are missing after the last one found")
        }
        return AuditChain.Verification(valid: true, recordsChecked: checked, headHash: start.hash, brokenAtSequence: nil, reason: nil)
    }

    func decodeAuditLink(_ row: SQLRow) throws -> AuditChain.Link {
        let entry = AuditEntry(
            id: try row.id("id"), sequence: try row.int("sequence"), tenant: tenant, actor: try row.string("actor"),
            action: try row.string("action"), objectType: try row.string("object_type"), objectID: try row.string("object_id"),
            requestID: try row.optionalString("request_id"), idempotencyKey: try row.optionalString("idempotency_key"),
            context: try row.json("context", as: JSONValue.self),
            createdAt: try row.timestamp("created_at"))
        return AuditChain.Link(entry: entry, previousHash: try row.string("previous_hash"), hash: try row.string("hash"))
    }
}
