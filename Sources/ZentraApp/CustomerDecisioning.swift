import ZentraCore
import ZentraStorage

/// A call to a program's decisioning webhook, ready to send: the signed body and its deadline.
public struct CustomerDecisionRequest: Sendable {
    public let url: String
    public let timeoutMs: Int
    public let fallback: ReviewOutcome
    /// The program's signing secret (`whsec_…`), opened from its sealed form for this call only.
    public let secret: String
    public let messageID: String
    public let body: [UInt8]

    public init(url: String, timeoutMs: Int, fallback: ReviewOutcome, secret: String, messageID: String, body: [UInt8]) {
        self.url = url
        self.timeoutMs = timeoutMs
        self.fallback = fallback
        self.secret = secret
        self.messageID = messageID
        self.body = body
    }
}

/// Thrown out of a unit of work (which then writes nothing and releases its locks) when the
/// customer's webhook must be asked first.
public struct CustomerDecisionNeeded: Error, Sendable {
    public let request: CustomerDecisionRequest
}

/// Asks a customer's endpoint; never throws: anything but a valid answer in time is the fallback.
public protocol CustomerDecider: Sendable {
    func decide(_ request: CustomerDecisionRequest) async -> CustomerDecision
}

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

    public func authorize(_ request: AuthorizationRequest, scope: WriteScope) async throws -> ReferencedOutcome<Authorization> {
        let vault = self.vault
        do {
            return try await store.write(scope) { tx in try await AuthorizationService.authorize(request, customer: nil, vault: vault, in: tx) }
        } catch let needed as CustomerDecisionNeeded {
            let answer = await decider.decide(needed.request)
            return try await store.write(scope) { tx in try await AuthorizationService.authorize(request, customer: answer, vault: vault, in: tx) }
        }
    }
}
