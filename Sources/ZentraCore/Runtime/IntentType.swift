/// What a runtime intent runs: the one catalog of intent types, as `EventType` is of events. The
/// intents an operation writes store theirs; the ones derived from a decision, a clearing, a
/// settlement or a dispute show theirs. Stored raw values: never rename one.
public enum IntentType: Sendable, Hashable {
    /// A client's own workflow, declared without an operation.
    case declared
    case accountCreate
    case accountDeposit
    case cardFund
    case cardIssue
    case customerCreate
    case customerKYCUpdate
    case authorizationDecide
    case authorizationAdjustment(AuthorizationAdjustment.Kind)
    case clearingPost
    case settlementClose
    case disputeOpen
    case disputeMove(DisputeStatus)

    public var rawValue: String {
        switch self {
        case .declared: "declared"
        case .accountCreate: "account.create"
        case .accountDeposit: "account.deposit"
        case .cardFund: "card.fund"
        case .cardIssue: "card.issue"
        case .customerCreate: "customer.create"
        case .customerKYCUpdate: "customer.kyc_update"
        case .authorizationDecide: "authorization.decide"
        case .authorizationAdjustment(let kind): "authorization.\(kind.rawValue)"
        case .clearingPost: "clearing.post"
        case .settlementClose: "settlement.close"
        case .disputeOpen: "dispute.open"
        case .disputeMove(let status): "dispute.\(status.rawValue)"
        }
    }
}
