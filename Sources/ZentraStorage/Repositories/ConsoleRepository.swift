import Crypto
import Foundation
import ZentraCore

/// A signed-in console session: who (the API key that signed in, with its current role) and the
/// CSRF token its forms carry.
public struct ConsoleSession: Sendable {
    public let principal: Principal
    public let csrfToken: String
    public let expiresAt: Timestamp
}

public enum ConsoleSessions {
    /// 256 random bits, URL-safe: a session token or a CSRF token.
    public static func newToken() -> String {
        SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// What is stored of a session token.
    public static func hash(_ token: String) -> String { TenantRepository.digestHex(token) }

    /// The live session of a token: unexpired, and its key not revoked (checked on every request).
    public static func find(tokenHash: String, now: Timestamp, engine: any DatabaseEngine) async throws -> ConsoleSession? {
        try await engine.withReader { sql in
            try await sql.queryOne("""
                SELECT s.tenant_id, s.key_id, s.csrf_token, s.expires_at, k.role FROM console_sessions s
                JOIN api_keys k ON k.id = s.key_id AND k.tenant_id = s.tenant_id AND k.revoked_at IS NULL
                WHERE s.token_hash = \(tokenHash) AND s.expires_at > \(now)
                """).map { row in
                ConsoleSession(principal: Principal(tenant: try row.id("tenant_id"), keyID: try row.id("key_id"), role: try row.enumValue("role")),
                               csrfToken: try row.string("csrf_token"), expiresAt: try row.timestamp("expires_at"))
            }
        }
    }
}

/// The console's own rows (its sessions) and the read model of its dashboard.
public struct ConsoleRepository<Scope: TenantScope>: AggregateRepository {
    let base: Scope
}

extension TenantScope {
    public var console: ConsoleRepository<Self> { ConsoleRepository(base: self) }
}

extension ConsoleRepository where Scope == WriteTransaction {
    public func insertSession(tokenHash: String, key: APIKeyID, csrfToken: String, expiresAt: Timestamp) async throws {
        // Expired sessions of the tenant go as new ones come.
        try await sql.execute("DELETE FROM console_sessions WHERE tenant_id = \(tenant) AND expires_at <= \(now)")
        try await sql.execute("""
            INSERT INTO console_sessions (token_hash, tenant_id, key_id, csrf_token, created_at, expires_at)
            VALUES (\(tokenHash), \(tenant), \(key), \(csrfToken), \(now), \(expiresAt))
            """)
    }

    public func deleteSession(tokenHash: String) async throws {
        try await sql.execute("DELETE FROM console_sessions WHERE tenant_id = \(tenant) AND token_hash = \(tokenHash)")
    }
}

/// What the console's dashboard shows, read in a few aggregate statements.
public struct ConsoleDashboard: Sendable {
    public var authorizationsToday: Int64 = 0
    public var approvedToday: Int64 = 0
    public var inReview: Int64 = 0
    public var openCases: Int64 = 0
    public var openDisputes: Int64 = 0
    /// Endpoints disabled by delivery (410, a spent schedule), or with deliveries waiting to retry.
    public var failingEndpoints: Int64 = 0
    /// Approved and cleared amounts per day in the tenant's time zone (days since the epoch) and currency.
    public var spendByDay: [(day: Int64, currency: String, amountMinor: Int64)] = []
}

extension ConsoleRepository {
    /// - Parameter utcOffsetSeconds: the tenant's offset now; days are counted in it.
    public func dashboard(since dayStart: Timestamp, chartFrom: Timestamp, utcOffsetSeconds: Int64) async throws -> ConsoleDashboard {
        var board = ConsoleDashboard()
        for row in try await sql.query("""
            SELECT status, COUNT(*) AS n FROM authorizations WHERE tenant_id = \(tenant) AND created_at >= \(dayStart) GROUP BY status
            """) {
            let count = try row.int("n")
            board.authorizationsToday += count
            // Reversed, expired and cleared authorizations were approved first.
            if let status = AuthorizationStatus(rawValue: try row.string("status")), status.wasApproved { board.approvedToday += count }
        }
        board.inReview = try await count("""
            SELECT COUNT(*) AS n FROM authorizations WHERE tenant_id = \(tenant) AND status = '\(raw: AuthorizationStatus.review.rawValue)'
            """)
        board.openCases = try await count("""
            SELECT COUNT(*) AS n FROM reconciliation_cases WHERE tenant_id = \(tenant) AND status <> '\(raw: ReconciliationStatus.resolved.rawValue)'
            """)
        board.openDisputes = try await count("""
            SELECT COUNT(*) AS n FROM disputes WHERE tenant_id = \(tenant) AND status IN ('\(raw: DisputeStatus.opened.rawValue)', '\(raw: DisputeStatus.submitted.rawValue)')
            """)
        let disabledByDelivery = try await sql.query("""
            SELECT data FROM webhook_endpoints WHERE tenant_id = \(tenant) AND status = '\(raw: WebhookEndpoint.Status.disabled.rawValue)'
            """).map { try $0.json("data", as: WebhookEndpoint.self) }.filter { $0.disabledReason != .manual }.count
        let retrying = try await count("""
            SELECT COUNT(DISTINCT d.endpoint_id) AS n FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
            WHERE d.tenant_id = \(tenant) AND e.status = '\(raw: WebhookEndpoint.Status.enabled.rawValue)' AND d.status = '\(raw: WebhookDelivery.Status.pending.rawValue)' AND d.claim IS NULL
              AND d.next_attempt_at > d.created_at
            """)
        board.failingEndpoints = Int64(disabledByDelivery) + retrying
        board.spendByDay = try await sql.query("""
            SELECT (created_at + \(utcOffsetSeconds * 1_000_000)) / 86400000000 AS day, currency,
                   CAST(SUM(amount_minor) AS BIGINT) AS total
            FROM authorizations WHERE tenant_id = \(tenant) AND created_at >= \(chartFrom) AND status IN ('\(raw: AuthorizationStatus.approved.rawValue)', '\(raw: AuthorizationStatus.cleared.rawValue)')
            GROUP BY day, currency ORDER BY day
            """).map { (try $0.int("day"), try $0.string("currency"), try $0.int("total")) }
        return board
    }

    private func count(_ query: SQL) async throws -> Int64 {
        try await sql.queryOne(query)?.int("n") ?? 0
    }
}

extension CardRepository {
    /// Cards by last four digits, newest first.
    public func list(last4: String, limit: Int) async throws -> [Card] {
        try await sql.query("\(raw: Scope.cardSelect) WHERE c.tenant_id = \(tenant) AND c.last4 = \(last4) ORDER BY c.created_at DESC LIMIT \(limit)")
            .map(base.decodeCard)
    }
}
