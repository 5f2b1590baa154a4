import ZentraCore

/// Webhook endpoints, each with its signing secret (and, during a rotation's grace period, the one
/// before) sealed beside it: never in `data`, never in an answer after the one that showed it.
public struct WebhookEndpointRepository<Scope: TenantScope>: AggregateRepository {
    let base: Scope
}

extension TenantScope {
    public var webhookEndpoints: WebhookEndpointRepository<Self> { WebhookEndpointRepository(base: self) }
}

extension WebhookEndpointRepository {
    public func find(_ id: WebhookEndpointID) async throws -> WebhookEndpoint? {
        try await base.stored("webhook_endpoints", id)
    }

    /// Every endpoint of the tenant in one status, oldest first (delivery fans events out to them).
    public func all(status: WebhookEndpoint.Status) async throws -> [WebhookEndpoint] {
        try await sql.query("""
            SELECT data FROM webhook_endpoints WHERE tenant_id = \(tenant) AND status = \(status.rawValue) ORDER BY created_at, id
            """).map { try $0.json("data") }
    }

    public func list(_ request: PageRequest) async throws -> Page<WebhookEndpoint> {
        try await base.page(request, table: "webhook_endpoints", columns: "data") { try $0.json("data") }
    }
}

extension WebhookEndpointRepository where Scope == WriteTransaction {
    public func insert(_ endpoint: WebhookEndpoint, sealedSecret: [UInt8]) async throws {
        try await sql.execute("""
            INSERT INTO webhook_endpoints (id, tenant_id, status, data, sealed_secret, created_at)
            VALUES (\(endpoint.id), \(tenant), \(endpoint.status.rawValue), \(try ZentraJSON.encodeString(endpoint)), \(sealedSecret),
                    \(endpoint.createdAt))
            """)
    }

    /// The endpoint and its sealed secrets, row-locked until commit when `forUpdate`.
    public func withSecrets(_ id: WebhookEndpointID, forUpdate: Bool)
        async throws -> (WebhookEndpoint, secret: [UInt8], previous: [UInt8]?)?
    {
        guard let row = try await sql.queryOne("""
            SELECT data, sealed_secret, sealed_previous_secret FROM webhook_endpoints WHERE tenant_id = \(tenant) AND id = \(id)
            """ + (forUpdate ? SQL.forUpdate : "")) else { return nil }
        return try decodeWithSecrets(row)
    }

    /// Several endpoints with their sealed secrets, in one read.
    public func withSecrets(_ ids: [WebhookEndpointID]) async throws -> [WebhookEndpointID: (WebhookEndpoint, secret: [UInt8], previous: [UInt8]?)] {
        guard !ids.isEmpty else { return [:] }
        var found: [WebhookEndpointID: (WebhookEndpoint, secret: [UInt8], previous: [UInt8]?)] = [:]
        for row in try await sql.query("SELECT data, sealed_secret, sealed_previous_secret FROM webhook_endpoints WHERE " + SQL.rows(ids, ofTenant: tenant)) {
            let endpoint = try decodeWithSecrets(row)
            found[endpoint.0.id] = endpoint
        }
        return found
    }

    private func decodeWithSecrets(_ row: SQLRow) throws -> (WebhookEndpoint, secret: [UInt8], previous: [UInt8]?) {
        let previous: [UInt8]? = if case .null = row["sealed_previous_secret"] { nil } else { try row.bytes("sealed_previous_secret") }
        return (try row.json("data"), try row.bytes("sealed_secret"), previous)
    }

    /// Writes the endpoint; new sealed secrets when given (a rotation), else the stored ones stay.
    public func update(_ endpoint: WebhookEndpoint, secrets: (current: [UInt8], previous: [UInt8]?)? = nil) async throws {
        let data = try ZentraJSON.encodeString(endpoint)
        if let secrets {
            try await sql.execute("""
                UPDATE webhook_endpoints SET status = \(endpoint.status.rawValue), data = \(data), sealed_secret = \(secrets.current),
                       sealed_previous_secret = \(secrets.previous)
                WHERE tenant_id = \(tenant) AND id = \(endpoint.id)
                """)
        } else {
            try await sql.execute("""
                UPDATE webhook_endpoints SET status = \(endpoint.status.rawValue), data = \(data) WHERE tenant_id = \(tenant) AND id = \(endpoint.id)
                """)
        }
    }

    public func delete(_ id: WebhookEndpointID) async throws {
        try await sql.execute("DELETE FROM webhook_endpoints WHERE tenant_id = \(tenant) AND id = \(id)")
    }
}
