import Foundation
import NIOCore
import ZentraApp
import ZentraCore

/// Sends one claimed delivery: the event's exact body, signed, within the timeout; reads at most
/// `responseBytes_max` of the answer and keeps its first kilobyte as the attempt's excerpt.
public struct WebhookSender: Sendable {
    let policy: OutboundURLPolicy
    let resolve: OutboundHTTP.Resolver
    let clock: any WallClock
    let timeoutMs: Int
    public static let responseBytes_max = 64 * 1024
    static let excerptBytes = 1024

    public init(policy: OutboundURLPolicy, clock: any WallClock, timeoutMs: Int, resolve: @escaping OutboundHTTP.Resolver = OutboundHTTP.systemResolve) {
        self.policy = policy
        self.resolve = resolve
        self.clock = clock
        self.timeoutMs = timeoutMs
    }

    public func send(_ delivery: ClaimedWebhookDelivery) async -> WebhookAttemptOutcome {
        let started = ContinuousClock.now
        func failed(_ failure: CallFailure) -> WebhookAttemptOutcome {
            WebhookAttemptOutcome(statusCode: nil, latencyMs: OutboundHTTP.milliseconds(since: started), failure: failure.rawValue, responseExcerpt: nil,
                                  retryAfterSeconds: nil)
        }
        let now = clock.now()
        guard let request = OutboundHTTP.signedPost(url: delivery.url, messageID: delivery.messageID, timestampSeconds: now.microseconds / 1_000_000,
                                                    secrets: delivery.secrets, body: delivery.body, userAgent: "Zentra-Webhooks/1")
        else { return failed(.invalidSigningSecret) }
        let deadline = NIODeadline.now() + .milliseconds(Int64(timeoutMs))
        do {
            let answer = try await OutboundHTTP.execute(request, policy: policy, deadline: deadline, keep: Self.excerptBytes, read: Self.responseBytes_max,
                                                        resolve: resolve)
            return WebhookAttemptOutcome(
                statusCode: answer.status, latencyMs: OutboundHTTP.milliseconds(since: started), failure: nil,
                responseExcerpt: answer.body.isEmpty ? nil : String(decoding: answer.body, as: UTF8.self),
                retryAfterSeconds: answer.retryAfter.flatMap { RetryAfter.seconds($0, now: now) })
        } catch {
            return failed(CallFailure(error, deadline: deadline))
        }
    }
}
