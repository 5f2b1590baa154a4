import Foundation
import Logging
import NIOCore
import ZentraApp
import ZentraCore

/// Asks a program's decisioning endpoint over HTTP: a signed POST (Standard Webhooks headers) to
/// an address the URL policy allows, one deadline for connect, send and answer, and the program's
/// fallback for anything but a valid answer.
///
/// The endpoint answers 2xx with `{"decision": "approve" | "decline"}` (or `{"approved": true | false}`).
public struct HTTPCustomerDecider: CustomerDecider {
    let policy: OutboundURLPolicy
    let resolve: OutboundHTTP.Resolver
    let clock: any WallClock
    let logger: Logger
    /// Largest answer read; a decision is a few bytes.
    static let responseBytes_max = 64 * 1024

    public init(policy: OutboundURLPolicy, clock: any WallClock, logger: Logger, resolve: @escaping OutboundHTTP.Resolver = OutboundHTTP.systemResolve) {
        self.policy = policy
        self.resolve = resolve
        self.clock = clock
        self.logger = logger
    }

    public func decide(_ request: CustomerDecisionRequest) async -> CustomerDecision {
        let started = ContinuousClock.now
        func elapsedMs() -> Int { OutboundHTTP.milliseconds(since: started) }
        func fallback(_ failure: String) -> CustomerDecision {
            logger.info("authorization webhook fell back", metadata: ["failure": "\(failure)", "message": "\(request.messageID)"])
            return CustomerDecision(decision: request.fallback, source: .fallback, latencyMs: elapsedMs(), failure: failure)
        }
        guard let http = OutboundHTTP.signedPost(url: request.url, messageID: request.messageID, timestampSeconds: clock.now().microseconds / 1_000_000,
                                                 secrets: [request.secret], body: request.body, userAgent: "Zentra-Authorization/1")
        else { return fallback(CallFailure.invalidSigningSecret.rawValue) }
        let deadline = NIODeadline.now() + .milliseconds(Int64(request.timeoutMs))
        do {
            let answer = try await OutboundHTTP.execute(http, policy: policy, deadline: deadline, keep: Self.responseBytes_max,
                                                        read: Self.responseBytes_max, resolve: resolve)
            guard (200..<300).contains(answer.status) else { return fallback(CallFailure.status(answer.status)) }
            guard !answer.longer, let decision = Self.parse(Data(answer.body)) else { return fallback(CallFailure.invalidResponse.rawValue) }
            let latency = elapsedMs()
            guard latency <= request.timeoutMs else { return fallback(CallFailure.timeout.rawValue) }
            return CustomerDecision(decision: decision, source: .webhook, latencyMs: latency)
        } catch {
            return fallback(CallFailure(error, deadline: deadline).rawValue)
        }
    }

    struct Answer: Decodable {
        let decision: String?
        let approved: Bool?
    }

    static func parse(_ data: Data) -> ReviewOutcome? {
        guard let answer = try? JSONDecoder().decode(Answer.self, from: data) else { return nil }
        if let decision = answer.decision { return ReviewOutcome(rawValue: decision) }
        return answer.approved.map { $0 ? .approve : .decline }
    }
}
