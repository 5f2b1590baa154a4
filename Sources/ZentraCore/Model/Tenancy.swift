/// A tenant: every object and every query belongs to exactly one.
public struct Tenant: Sendable, Hashable, Codable {
    public let id: TenantID
    public let object: String
    public let name: String
    /// IANA time zone the spend windows (day, week, month) of the tenant's cards follow.
    public var timeZone: String
    public let createdAt: Timestamp

    public static let defaultTimeZone = "UTC"

    public init(id: TenantID, name: String, timeZone: String = Tenant.defaultTimeZone, createdAt: Timestamp) {
        self.id = id
        self.object = ObjectType.tenant.rawValue
        self.name = name
        self.timeZone = timeZone
        self.createdAt = createdAt
    }
}

/// What an API key may do within its tenant.
public enum Role: String, Sendable, Codable, Hashable, CaseIterable {
    /// Everything in the tenant, including keys and webhook endpoints.
    case admin
    /// The public API.
    case developer
    /// The card-network side: authorizations, reversals, clearing.
    case network
    /// Review queues, console actions, closure.
    case `operator`
    /// GET only.
    case readonly
}

/// An API key as listed: never the secret, which is shown once at creation and stored as a hash.
public struct APIKey: Sendable, Hashable, Codable {
    public let id: APIKeyID
    public let object: String
    public let role: Role
    public let name: String?
    /// The first characters of the key, so an operator can tell keys apart.
    public let keyPrefix: String
    public let createdAt: Timestamp
    public let revokedAt: Timestamp?

    public init(id: APIKeyID, role: Role, name: String?, keyPrefix: String, createdAt: Timestamp, revokedAt: Timestamp?) {
        self.id = id
        self.object = ObjectType.apiKey.rawValue
        self.role = role
        self.name = name
        self.keyPrefix = keyPrefix
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }
}

/// The caller behind a request: its tenant, its key and its role.
public struct Principal: Sendable, Hashable {
    public let tenant: TenantID
    public let keyID: APIKeyID?
    public let role: Role

    public init(tenant: TenantID, keyID: APIKeyID?, role: Role) {
        self.tenant = tenant
        self.keyID = keyID
        self.role = role
    }

    /// How the audit log names this caller.
    public var actor: String { keyID?.rawValue ?? "system" }
}
