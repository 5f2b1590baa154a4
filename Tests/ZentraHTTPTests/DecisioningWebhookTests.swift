import Foundation
import NIOCore
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing
import ZentraApp
import ZentraCore
@testable import ZentraHTTP
import ZentraTestSupport

@Suite struct DecisioningWebhookTests {
    /// A customer's decisioning endpoint on loopback: it approves, declines, answers slowly, or fails.
    static func customerEndpoint() -> WebhookReceiver {
        let receiver = WebhookReceiver()
        let json = ["Content-Type": "application/json"]
        receiver.script("/approve", .init(headers: json, body: #"{"decision": "approve"}"#))
        receiver.script("/decline", .init(headers: json, body: #"{"approved": false}"#))
        receiver.script("/slow", .init(headers: json, body: #"{"decision": "decline"}"#, held: true))
        receiver.script("/fail", .init(status: .internalServerError, headers: json, body: "{}"))
        return receiver
    }

    static func loopbackAllowed(_ configuration: inout AppConfiguration) {
        configuration.outboundURLPolicy = try! OutboundURLPolicy(allowedNetworksList: "127.0.0.0/8")
    }

    @Test(arguments: Backend.allCases)
    func theCustomersAnswerDecidesAndIsEvidence(_ backend: Backend) async throws {
        let endpoint = Self.customerEndpoint()
        try await endpoint.run { port in
            try await TestEnvironment.run(backend, configure: Self.loopbackAllowed) { env in
                // Endpoints that answer at once get the longest deadline a program may set.
                func fixture(_ path: String, timeout: Int = AuthorizationWebhook.timeoutMsRange.upperBound, fallback: String = "decline") async throws -> AuthorizationFixture {
                    let f = try await AuthorizationFixture.make(env, program: #"""
                        , "authorization_webhook": {"url": "http://127.0.0.1:\#(port)\#(path)", "timeout_ms": \#(timeout), "fallback": "\#(fallback)"}
                        """#, fund: 1_000)
                    let program = try await env.get("/cards/\(f.card)").json["program"] as! String
                    #expect(try await env.get("/card-programs/\(program)").json["authorization_webhook_secret"] == nil, "the secret is shown once")
                    return f
                }
                let approving = try await fixture("/approve")
                let secret = try #require(approving.programSecret)
                #expect(secret.hasPrefix("whsec_"))
                let unsigned = try await approving.authorize(100)
                #expect(unsigned.status_ == "approved", "\(unsigned.text)")
                let decision = try #require(unsigned.json["customer_decision"] as? [String: Any])
                #expect(decision["source"] as? String == "webhook" && decision["decision"] as? String == "approve")
                #expect(decision["latency_ms"] as? Int != nil)
                #expect(unsigned.rule("customer_decision")?["result"] as? String == "pass")
                let call = try #require(endpoint.calls.withLock { $0.last })
                let body = String(decoding: call.body, as: UTF8.self)
                #expect(body.contains("\"last4\"") && body.contains(approving.card))
                #expect(call.signature == WebhookSignature.sign(secret: secret, messageID: call.id, timestampSeconds: call.timestamp, body: call.body),
                        "Standard Webhooks signature with the program's secret")
                #expect(!body.contains("\"pan\""))

                let declining = try await fixture("/decline")
                let declined = try await declining.authorize(100)
                #expect(declined.status_ == "declined" && declined.declineReason == "customer_declined" && declined.responseCode == "05")
                #expect(try await declining.available() == 1_000)

                let failing = try await fixture("/fail", fallback: "decline")
                let failed = try await failing.authorize(100)
                #expect(failed.declineReason == "customer_declined")
                #expect((failed.json["customer_decision"] as? [String: Any])?["failure"] as? String == "http_500")
                #expect((failed.json["customer_decision"] as? [String: Any])?["source"] as? String == "fallback")

                let calls = endpoint.calls.withLock { $0.count }
                #expect(try await declining.authorize(5_000).declineReason == "insufficient_funds")
                #expect(endpoint.calls.withLock { $0.count } == calls, "the webhook is not asked about what the rules decline")
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func aDecisionWaitingOnTheCustomerHoldsNoLocks(_ backend: Backend) async throws {
        let endpoint = Self.customerEndpoint()
        try await endpoint.run { port in
            try await TestEnvironment.run(backend, configure: Self.loopbackAllowed) { env in
                // The longest deadline a program may set: the slow decision ends when the test releases
                // the endpoint, long before that deadline unless the machine stalls for seconds.
                let slow = try await AuthorizationFixture.make(env, program: #"""
                    , "authorization_webhook": {"url": "http://127.0.0.1:\#(port)/slow", "timeout_ms": \#(AuthorizationWebhook.timeoutMsRange.upperBound), "fallback": "approve"}
                    """#, fund: 1_000)
                let plain = try await AuthorizationFixture.make(env, fund: 1_000)
                let slowDone = Mutex(false)
                async let waited: TestReply = {
                    let reply = try await slow.authorize(100)
                    slowDone.withLock { $0 = true }
                    return reply
                }()
                try await WebhookDeliveryTests.eventually("the slow decision is waiting on the customer's endpoint") {
                    !endpoint.calls(to: "/slow").isEmpty
                }
                #expect(try await plain.authorize(100).status_ == "approved")
                #expect(slowDone.withLock { $0 } == false, "the other decision committed while this one waited")
                endpoint.release("/slow")
                let reply = try await waited
                #expect(reply.status_ == "declined" && reply.declineReason == "customer_declined", "\(reply.text)")
                #expect((reply.json["customer_decision"] as? [String: Any])?["source"] as? String == "webhook")
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func anEndpointThatNeverAnswersFallsBackAtTheDeadline(_ backend: Backend) async throws {
        let endpoint = Self.customerEndpoint()
        try await endpoint.run { port in
            try await TestEnvironment.run(backend, configure: Self.loopbackAllowed) { env in
                // Held and never released: the only way out is the deadline, whatever the machine's speed.
                let timeout = AuthorizationWebhook.timeoutMsRange.lowerBound
                let slow = try await AuthorizationFixture.make(env, program: #"""
                    , "authorization_webhook": {"url": "http://127.0.0.1:\#(port)/slow", "timeout_ms": \#(timeout), "fallback": "approve"}
                    """#, fund: 1_000)
                let reply = try await slow.authorize(100)
                endpoint.release("/slow")
                #expect(reply.status_ == "approved", "\(reply.text)")
                let decision = try #require(reply.json["customer_decision"] as? [String: Any])
                #expect(decision["source"] as? String == "fallback" && decision["failure"] as? String == "timeout")
                let latency = try #require(decision["latency_ms"] as? Int)
                #expect(latency >= timeout, "the call ran to its deadline")
                let evidence = try await env.get("/authorizations/\(reply.id)/evidence").json
                #expect((evidence["customer_decision"] as? [String: Any])?["failure"] as? String == "timeout")
                #expect((evidence["timings"] as? [String: Any])?["customer_decision_latency_ms"] as? Int == latency)
            }
        }
    }
}
