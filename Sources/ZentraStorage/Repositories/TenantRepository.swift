import Crypto
import ZentraCore

/// A freshly made API key: the secret exists only here, on its way to the caller.
public struct IssuedAPIKey: Sendable, Encodable {
    public let id: APIKeyID
    public let apiKey: String
    public let key: APIKey
}

/// Tenants and API keys. Keys are stored as SHA-256 digests: a key is 32 random bytes, so a fast
/// digest is as strong as a slow one and keeps the per-request lookup cheap.
public enum TenantRepository {
    public static func createTenant(name: String, timeZone: String = Tenant.defaultTimeZone, store: Store) async throws -> (Tenant, IssuedAPIKey) {
        let tenant = Tenant(id: store.ids.next(), name: name, timeZone: timeZone, createdAt: store.clock.now())
        // The tenant row, its first key and the first audit record commit together.
        let key = try await store.write(WriteScope(tenant: tenant.id, actor: "cli", requestID: nil)) { tx in
            try await tx.sql.execute("""
                INSERT INTO tenants (id, name, time_zone, created_at, audit_head_hash)
                VALUES (\(tenant.id), \(tenant.name), \(tenant.timeZone), \(tenant.createdAt), \(AuditChain.genesisHash))
                """)
            tx.audit(.tenantCreated, objectType: .tenant, objectID: tenant.id.rawValue,
                     context: .object(["name": .string(name), "time_zone": .string(timeZone)]))
            return try await tx.apiKeys.create(role: .admin, name: "initial admin key")
        }
        return (tenant, key)
    }

    public static func tenantExists(_ id: TenantID, store: Store) async throws -> Bool {
        try await store.engine.withReader { sql in
            try await sql.queryOne("SELECT id FROM tenants WHERE id = \(id)") != nil
        }
    }

    /// Resolves a presented key (by its SHA-256, `digestHex`) to its principal; a revoked key
    /// resolves to nothing.
    public static func authenticate(digest: String, store: Store) async throws -> Principal? {
        try await store.engine.withReader { sql in
            guard let row = try await sql.queryOne(
                "SELECT id, tenant_id, role FROM api_keys WHERE key_hash = \(digest) AND revoked_at IS NULL")
            else { return nil }
            return Principal(tenant: try row.id("tenant_id"), keyID: try row.id("id"), role: try row.enumValue("role"))
        }
    }

    public static func digestHex(_ key: String) -> String {
        Hex.encode(SHA256.hash(data: Array(key.utf8)))
    }
}

/// The tenant's own row: its name and the time zone of its spend windows.
public struct TenantSettingsRepository<Scope: TenantScope>: AggregateRepository {
    let base: Scope
}

extension TenantScope {
    public var tenantSettings: TenantSettingsRepository<Self> { TenantSettingsRepository(base: self) }
}

extension TenantSettingsRepository {
    public func record() async throws -> Tenant {
        guard let row = try await sql.queryOne("SELECT id, name, time_zone, created_at FROM tenants WHERE id = \(tenant)") else {
            throw DomainError.resourceMissing("tenant", id: tenant.rawValue)
        }
        return Tenant(id: try row.id("id"), name: try row.string("name"), timeZone: try row.string("time_zone"),
                      createdAt: try row.timestamp("created_at"))
    }
}

extension TenantSettingsRepository where Scope == WriteTransaction {
    /// Sets the time zone of the tenant's spend windows; windows already counting keep their keys.
    public func setTimeZone(_ timeZone: String) async throws -> Tenant {
        try await sql.execute("UPDATE tenants SET time_zone = \(timeZone) WHERE id = \(tenant)")
        audit(.tenantUpdated, objectType: .tenant, objectID: tenant.rawValue, context: .object(["time_zone": .string(timeZone)]))
        return try await record()
    }
}

/// The tenant's API keys (stored as digests) and their revocation.
public struct APIKeyRepository<Scope: TenantScope>: AggregateRepository {
    let base: Scope
}

extension TenantScope {
    public var apiKeys: APIKeyRepository<Self> { APIKeyRepository(base: self) }
}

extension APIKeyRepository {
    public func find(_ id: APIKeyID) async throws -> APIKey? {
        try await sql.queryOne("SELECT * FROM api_keys WHERE tenant_id = \(tenant) AND id = \(id)").map(decodeAPIKey)
    }

    public func list(_ request: PageRequest) async throws -> Page<APIKey> {
        try await base.page(request, table: "api_keys", columns: "*", decode: decodeAPIKey)
    }

    func decodeAPIKey(_ row: SQLRow) throws -> APIKey {
        APIKey(id: try row.id("id"), role: try row.enumValue("role"), name: try row.optionalString("name"),
               keyPrefix: try row.string("key_prefix"), createdAt: try row.timestamp("created_at"),
               revokedAt: try row.optionalTimestamp("revoked_at"))
    }
}

extension APIKeyRepository where Scope == WriteTransaction {
    public func create(role: Role, name: String?) async throws -> IssuedAPIKey {
        var generator = SystemRandomNumberGenerator()
        let secret = "zk_" + String(decoding: (0..<40).map { _ in Base62.alphabet.randomElement(using: &generator)! }, as: UTF8.self)
        let key = APIKey(id: newID(), role: role, name: name, keyPrefix: String(secret.prefix(10)), createdAt: now, revokedAt: nil)
        try await sql.execute("""
            INSERT INTO api_keys (id, tenant_id, role, name, key_prefix, key_hash, created_at)
            VALUES (\(key.id), \(tenant), \(role), \(name), \(key.keyPrefix), \(TenantRepository.digestHex(secret)), \(now))
            """)
        audit(.apiKeyCreated, objectType: .apiKey, objectID: key.id.rawValue, context: .object(["role": .string(role.rawValue)]))
        return IssuedAPIKey(id: key.id, apiKey: secret, key: key)
    }

    /// Revokes a key of this tenant; a key of another tenant is missing.
    public func revoke(_ id: APIKeyID) async throws -> APIKey {
        let rows = try await sql.query(
            "UPDATE api_keys SET revoked_at = \(now) WHERE tenant_id = \(tenant) AND id = \(id) AND revoked_at IS NULL RETURNING id")
        guard let key = try await find(id) else { throw DomainError.resourceMissing("api_key", id: id.rawValue) }
        if !rows.isEmpty {
            audit(.apiKeyRevoked, objectType: .apiKey, objectID: id.rawValue)
        }
        return key
    }
}

import Foundation
