import ZentraCore
import ZentraStorage

/// Runs an authorization to its answer: a decision in the next batch of decisions, or, when the
/// program's webhook must be asked, the call with no transaction open and then a decision in a later
/// batch, on fresh state, with the customer's answer as the last rule.
public struct Authorizer: Sendable {
    public let store: Store
    public let decider: any CustomerDecider
    let batch: AuthorizationBatch

    public init(store: Store, vault: CardVault, decider: any CustomerDecider) {
        self.store = store
        self.decider = decider
        self.batch = AuthorizationBatch(vault: vault)
    }

    /// - Parameter keyID: the API key of the request, checked again as the decision commits.
    public func authorize(_ request: AuthorizationRequest, scope: WriteScope, keyID: String?) async throws
        -> ReferencedOutcome<Authorization>
    {
        var item = DecisionItem(request: request, scope: scope, keyID: keyID)
        switch try await store.run(item, in: batch) {
        case .decided(let outcome): return outcome
        case .askCustomer(let call):
            item = DecisionItem(request: request, scope: scope, keyID: keyID, customer: await decider.decide(call))
            guard case .decided(let outcome) = try await store.run(item, in: batch) else {
                throw DomainError.invariantViolated("a decision with the customer's answer asked the customer again")
            }
            return outcome
        }
    }
}
