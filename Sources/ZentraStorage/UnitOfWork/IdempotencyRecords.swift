import ZentraCore

/// A response kept for replay: status, the headers that matter, and the exact body bytes.
public struct StoredResponse: Sendable, Hashable, Codable {
    public let status: Int
    public let headers: [String: String]
    public let body: [UInt8]
    /// The body is sealed (it shows a secret: a new API key, a signing secret), and only the
    /// platform's card data key opens it.
    public let sealed: Bool

    public init(status: Int, headers: [String: String], body: [UInt8], sealed: Bool = false) {
        self.status = status
        self.headers = headers
        self.body = body
        self.sealed = sealed
    }
}

/// This request's hold on an idempotency key: proof that it, and no concurrent request, may
/// complete the key. `token` changes when an abandoned claim is taken over after its lease.
public struct IdempotencyClaim: Sendable, Hashable {
    public let key: String
    public let fingerprint: String
    public let token: String

    public init(key: String, fingerprint: String, token: String) {
        self.key = key
        self.fingerprint = fingerprint
        self.token = token
    }
}

public enum IdempotencyOutcome: Sendable {
    /// First use (or an abandoned earlier use): run the request.
    case claimed(IdempotencyClaim)
    /// Completed before with the same request: answer this.
    case replay(StoredResponse)
    case reusedWithDifferentRequest
    case inProgress
}

/// The idempotency table, following the IETF draft: a key is claimed in a short transaction before
/// the work (that is how a concurrent duplicate learns it is in progress), and completed inside the
/// unit of work that does the work, so the stored response and the effect commit together. A claim
/// whose process died is taken over once its lease has passed; the effect it never committed
/// cannot exist, so running the request then is safe.
public enum IdempotencyRecords {
    /// A key's `status` column: claimed by a request still running, or holding its stored response.
    private enum Status: String {
        case inProgress = "in_progress"
        case completed
    }

    public static func claim(
        tenant: TenantID, key: String, fingerprint: String, token: String, now: Timestamp,
        leaseSeconds: Int64, retentionSeconds: Int64, engine: any DatabaseEngine
    ) async throws -> IdempotencyOutcome {
        try await engine.withTransaction { sql in
            let leaseEnd = now.adding(seconds: leaseSeconds)
            let expiresAt = now.adding(seconds: retentionSeconds)
            let claim = IdempotencyClaim(key: key, fingerprint: fingerprint, token: token)
            let inserted = try await sql.query("""
                INSERT INTO idempotency_keys (tenant_id, key, fingerprint, status, lock_token, locked_until, created_at, expires_at)
                VALUES (\(tenant), \(key), \(fingerprint), '\(raw: Status.inProgress.rawValue)', \(token), \(leaseEnd), \(now), \(expiresAt))
                ON CONFLICT (tenant_id, key) DO NOTHING RETURNING key
                """)
            if !inserted.isEmpty { return .claimed(claim) }

            guard let row = try await sql.queryOne(
                "SELECT fingerprint, status, locked_until, expires_at, response_status, response_headers, response_body, response_sealed FROM idempotency_keys WHERE tenant_id = \(tenant) AND key = \(key)"
                    + SQL.forUpdate)
            else { throw StoreError.retryable("idempotency key vanished during claim") }

            let storedFingerprint = try row.string("fingerprint")
            let status = Status(rawValue: try row.string("status"))
            let expired = try row.timestamp("expires_at") < now
            let lockedUntil = try row.optionalTimestamp("locked_until") ?? now
            let abandoned = status == .inProgress && lockedUntil < now
            if expired || (abandoned && storedFingerprint == fingerprint) {
                try await sql.execute("""
                    UPDATE idempotency_keys SET fingerprint = \(fingerprint), status = '\(raw: Status.inProgress.rawValue)', lock_token = \(token),
                        locked_until = \(leaseEnd), response_status = NULL, response_headers = NULL, response_body = NULL,
                        created_at = \(now), expires_at = \(expiresAt)
                    WHERE tenant_id = \(tenant) AND key = \(key)
                    """)
                return .claimed(claim)
            }
            guard storedFingerprint == fingerprint else { return .reusedWithDifferentRequest }
            guard status == .completed else { return .inProgress }
            return .replay(StoredResponse(
                status: Int(try row.int("response_status")),
                headers: try row.json("response_headers"),
                body: try row.bytes("response_body"),
                sealed: try row.int("response_sealed") != 0))
        }
    }

    /// Completes a claim inside the unit of work that did the work. Fails if the claim was lost.
    static func complete(_ claim: IdempotencyClaim, tenant: TenantID, response: StoredResponse, sql: any SQLExecutor) async throws {
        let updated = try await sql.query("""
            UPDATE idempotency_keys SET status = '\(raw: Status.completed.rawValue)', lock_token = NULL, locked_until = NULL,
                response_status = \(response.status), response_headers = \(try ZentraJSON.encodeString(response.headers)),
                response_body = \(response.body), response_sealed = \(response.sealed ? 1 : 0)
            WHERE tenant_id = \(tenant) AND key = \(claim.key) AND lock_token = \(claim.token)
            RETURNING key
            """)
        guard !updated.isEmpty else { throw DomainError.idempotencyRequestInProgress }
    }

    /// Completes a claim with a refusal (a 4xx): nothing else happened, so it stands alone.
    public static func completeAlone(_ claim: IdempotencyClaim, tenant: TenantID, response: StoredResponse, engine: any DatabaseEngine) async throws {
        try await engine.withTransaction { sql in
            try await complete(claim, tenant: tenant, response: response, sql: sql)
        }
    }

    /// Gives a claim up after a failure that is not the client's (database lost, a bug), so a retry runs again.
    public static func release(_ claim: IdempotencyClaim, tenant: TenantID, engine: any DatabaseEngine) async throws {
        try await engine.withTransaction { sql in
            try await sql.execute(
                "DELETE FROM idempotency_keys WHERE tenant_id = \(tenant) AND key = \(claim.key) AND lock_token = \(claim.token)")
        }
    }

    /// Deletes expired records, a bounded batch at a time.
    public static func purgeExpired(now: Timestamp, batch_max: Int = 1000, engine: any DatabaseEngine) async throws {
        try await engine.withTransaction { sql in
            try await sql.execute("""
                DELETE FROM idempotency_keys WHERE key IN (
                    SELECT key FROM idempotency_keys WHERE expires_at < \(now) AND status = '\(raw: Status.completed.rawValue)' LIMIT \(batch_max))
                  AND expires_at < \(now)
                """)
        }
    }
}
