/// Every type of event Zentra emits: the one catalog, which webhook endpoints subscribe from and
/// `openapi.yaml` lists. An event's type is `<object>.<what happened>`.
public enum EventType: String, Sendable, Hashable, CaseIterable, Codable {
    case accountCreated = "account.created"
    case depositCreated = "deposit.created"
    case customerCreated = "customer.created"
    case customerKYCUpdated = "customer.kyc_updated"
    case cardProgramCreated = "card_program.created"
    case cardIssued = "card.issued"
    case cardFunded = "card.funded"
    case cardLocked = "card.locked"
    case cardUnlocked = "card.unlocked"
    case cardClosed = "card.closed"
    case cardSecurityUpdated = "card.security_updated"
    case authorizationApproved = "authorization.approved"
    case authorizationDeclined = "authorization.declined"
    case authorizationReview = "authorization.review"
    case authorizationReversed = "authorization.reversed"
    case authorizationExpired = "authorization.expired"
    case authorizationCleared = "authorization.cleared"
    case authorizationIncremented = "authorization.incremented"
    case authorizationIncrementDeclined = "authorization.increment_declined"
    case clearingMatched = "clearing.matched"
    case clearingMismatched = "clearing.mismatched"
    case clearingUnmatched = "clearing.unmatched"
    case clearingFileProcessed = "clearing_file.processed"
    case reconciliationOpened = "reconciliation.opened"
    case reconciliationAssigned = "reconciliation.assigned"
    case reconciliationResolved = "reconciliation.resolved"
    case settlementClosed = "settlement.closed"
    case disputeOpened = "dispute.opened"
    case disputeSubmitted = "dispute.submitted"
    case disputeWithdrawn = "dispute.withdrawn"
    case disputeWon = "dispute.won"
    case disputeLost = "dispute.lost"
    case webhookEndpointCreated = "webhook_endpoint.created"
    case webhookEndpointUpdated = "webhook_endpoint.updated"
    case webhookEndpointEnabled = "webhook_endpoint.enabled"
    case webhookEndpointDisabled = "webhook_endpoint.disabled"
    case webhookEndpointDeleted = "webhook_endpoint.deleted"
    case webhookEndpointSecretRotated = "webhook_endpoint.secret_rotated"
    case runtimeIntentDeclared = "runtime_intent.declared"

    /// A decision's event, or a review settled: the authorization's status names it.
    public static func authorization(_ status: AuthorizationStatus) -> EventType {
        switch status {
        case .approved: .authorizationApproved
        case .declined: .authorizationDeclined
        case .review: .authorizationReview
        case .reversed: .authorizationReversed
        case .expired: .authorizationExpired
        case .cleared: .authorizationCleared
        }
    }

    /// A card's status changed.
    public static func card(_ status: CardStatus) -> EventType {
        switch status {
        case .active: .cardUnlocked
        case .locked: .cardLocked
        case .closed: .cardClosed
        }
    }

    public static func clearing(_ status: ClearingStatus) -> EventType {
        switch status {
        case .matched: .clearingMatched
        case .mismatched: .clearingMismatched
        case .unmatched: .clearingUnmatched
        }
    }

    public static func dispute(_ outcome: DisputeOutcome) -> EventType {
        switch outcome {
        case .won: .disputeWon
        case .lost: .disputeLost
        }
    }

    /// Whether a subscription pattern (`*`, a type, or a type's prefix and `.*`) names any type here.
    public static func matchesAny(_ pattern: String) -> Bool {
        if pattern == "*" { return true }
        if pattern.hasSuffix(".*") {
            let prefix = pattern.dropLast()
            return allCases.contains { $0.rawValue.hasPrefix(prefix) }
        }
        return EventType(rawValue: pattern) != nil
    }
}
