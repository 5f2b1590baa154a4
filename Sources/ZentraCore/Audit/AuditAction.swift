/// What an audit record says was done: the one catalog of audit actions, as `EventType` is of
/// events. A change that emits an event is audited under its event's type; the actions below are
/// the ones no event announces. The raw values are stored in the hash chain: never rename one.
public enum AuditAction: Sendable, Hashable, CaseIterable {
    case event(EventType)
    case accountDeposit
    case apiKeyCreated
    case apiKeyRevoked
    case authorizationDecided
    case cardSensitiveDetailsRead
    case clearingPosted
    case consoleSignedIn
    case consoleSignedOut
    case eventRedelivered
    case tenantCreated
    case tenantUpdated

    public static var allCases: [AuditAction] {
        EventType.allCases.map(Self.event) + [.accountDeposit, .apiKeyCreated, .apiKeyRevoked, .authorizationDecided,
            .cardSensitiveDetailsRead, .clearingPosted, .consoleSignedIn, .consoleSignedOut, .eventRedelivered, .tenantCreated, .tenantUpdated]
    }

    public var rawValue: String {
        switch self {
        case .event(let type): type.rawValue
        case .accountDeposit: "account.deposit"
        case .apiKeyCreated: "api_key.created"
        case .apiKeyRevoked: "api_key.revoked"
        case .authorizationDecided: "authorization.decided"
        case .cardSensitiveDetailsRead: "card.sensitive_details_read"
        case .clearingPosted: "clearing.posted"
        case .consoleSignedIn: "console.signed_in"
        case .consoleSignedOut: "console.signed_out"
        case .eventRedelivered: "event.redelivered"
        case .tenantCreated: "tenant.created"
        case .tenantUpdated: "tenant.updated"
        }
    }
}
