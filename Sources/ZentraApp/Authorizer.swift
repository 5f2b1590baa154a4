import ZentraCore
import ZentraStorage

/// Runs an authorization to its answer: one unit of work, or, when the program's webhook must be
/// asked, a first unit that stops before writing, the call with no transaction open, and a second
/// unit that decides again on fresh state with the customer's answer as the last rule.
public struct Authorizer: Sendable {
    public let store: Store
    public let vault: CardVault
    public let decider: any CustomerDecider

    public init(store: Store, vault: CardVault, decider: any CustomerDecider) {
        self.store = store
        self.vault = vault
        self.decider = decider
    }

    public func authorize(_ request: AuthorizationRequest, scope: WriteScope) async throws -> ReferencedOutcome<RenderedAuthorization> {
        let vault = self.vault
        do {
            return try await store.write(scope) { tx in try await AuthorizationService.authorize(request, customer: nil, vault: vault, in: tx) }
        } catch let needed as CustomerDecisionNeeded {
            let answer = await decider.decide(needed.request)
            return try await store.write(scope) { tx in try await AuthorizationService.authorize(request, customer: answer, vault: vault, in: tx) }
        }
    }
}
