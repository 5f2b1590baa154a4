public enum WebhookEndpointKind: IdentifierKind { public static let prefix = "we_" }
public typealias WebhookEndpointID = ID<WebhookEndpointKind>

/// Where a tenant's events are delivered, and which of them. Its signing secret is never part of
/// it: the secret is shown once (at creation and at each rotation) and stored sealed.
public struct WebhookEndpoint: Sendable, Hashable, Codable {
    public enum Status: String, Sendable, Codable, Hashable, CaseIterable {
        case enabled
        case disabled
    }

    /// Why an endpoint is disabled: by an admin, by its own `410 Gone`, or by failing every attempt
    /// of a delivery's whole retry schedule.
    public enum DisabledReason: String, Sendable, Codable, Hashable {
        case manual
        case gone
        case failing
    }

    public let id: WebhookEndpointID
    public let object: String
    public var url: String
    /// Event types, `*` for every one, or `prefix.*` (such as `authorization.*`).
    public var eventTypes: [String]
    public var description: String?
    public var status: Status
    public var disabledReason: DisabledReason?
    /// Until when deliveries are also signed with the secret before the last rotation.
    public var previousSecretExpiresAt: Timestamp?
    public let createdAt: Timestamp
    public var updatedAt: Timestamp

    public init(id: WebhookEndpointID, url: String, eventTypes: [String], description: String?, status: Status,
                previousSecretExpiresAt: Timestamp?, createdAt: Timestamp, updatedAt: Timestamp) {
        self.id = id
        self.object = ObjectType.webhookEndpoint.rawValue
        self.url = url
        self.eventTypes = eventTypes
        self.description = description
        self.status = status
        self.disabledReason = nil
        self.previousSecretExpiresAt = previousSecretExpiresAt
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// Whether an event of `type` goes to this endpoint.
    public func subscribes(to type: String) -> Bool {
        eventTypes.contains { $0 == "*" || $0 == type || ($0.hasSuffix(".*") && type.hasPrefix($0.dropLast())) }
    }

    public static let eventTypes_max = 100

    /// Event type patterns as a client sends them: at least one, each `*`, a dotted lower-case name,
    /// or such a name's prefix followed by `.*`, naming at least one type of the catalog
    /// (`EventType`: a misspelt `authorisation.*` would never match); duplicates dropped, order kept.
    public static func validEventTypes(_ raw: [String]) throws(DomainError) -> [String] {
        guard !raw.isEmpty, raw.count <= eventTypes_max else {
            throw DomainError.parameterInvalid("event_types", "name 1 to \(eventTypes_max) event types, or [\"*\"]")
        }
        var seen = Set<String>()
        var result: [String] = []
        for pattern in raw {
            let name = pattern.hasSuffix(".*") ? String(pattern.dropLast(2)) : pattern
            let valid = pattern == "*" || (!name.isEmpty && name.count <= 100 && name.split(separator: ".", omittingEmptySubsequences: false)
                .allSatisfy { part in !part.isEmpty && part.allSatisfy { $0 == "_" || ($0.isASCII && ($0.isLowercase || $0.isNumber)) } })
            guard valid else {
                throw DomainError.parameterInvalid("event_types", "'\(pattern)' is not an event type such as authorization.approved, a prefix such as authorization.*, or *")
            }
            guard EventType.matchesAny(pattern) else {
                throw DomainError(.unprocessable, code: "unknown_event_type",
                                  message: "'\(pattern)' names no event type Zentra emits; the types are listed in openapi.yaml (EventType).",
                                  param: "event_types")
            }
            if seen.insert(pattern).inserted { result.append(pattern) }
        }
        return result
    }
}
