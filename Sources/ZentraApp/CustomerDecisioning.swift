import ZentraCore
import ZentraStorage

/// A call to a program's decisioning webhook, ready to send: the signed body and its deadline.
public struct CustomerDecisionRequest: Sendable {
    /// The body's `type`: not an event (nothing stores it), the question the endpoint answers.
    public static let type = "authorization.request"
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

/// Asks a customer's endpoint; never throws: anything but a valid answer in time is the fallback.
public protocol CustomerDecider: Sendable {
    func decide(_ request: CustomerDecisionRequest) async -> CustomerDecision
}
