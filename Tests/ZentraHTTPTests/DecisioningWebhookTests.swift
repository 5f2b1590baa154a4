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

/// A customer's decisioning endpoint, served for real on loopback: it checks every signature and
/// answers approve, decline, slowly, or with a 500.
final class CustomerEndpoint: Sendable {
    struct Call: Sendable {
        let path: String
        let signatureValid: Bool
        let body: String
    }

    let secret = Mutex<String?>(nil)
    let calls = Mutex<[Call]>([])

    func run(_ body: @escaping @Sendable (Int) async throws -> Void) async throws {
        let router = Router()
        let answers: [(String, HTTPResponse.Status, String, Duration)] = [
            ("/approve", .ok, #"{"decision": "approve"}"#, .zero),
            ("/decline", .ok, #"{"approved": false}"#, .zero),
            ("/slow", .ok, #"{"decision": "decline"}"#, .seconds(2)),
            ("/fail", .internalServerError, "{}", .zero),
        ]
        for (path, status, json, delay) in answers {
            router.post(RouterPath(path)) { request, _ -> Response in
                let bytes = Array(try await request.body.collect(upTo: 1 << 20).readableBytesView)
                let id = request.headers[HTTPField.Name("webhook-id")!] ?? ""
                let timestamp = Int64(request.headers[HTTPField.Name("webhook-timestamp")!] ?? "") ?? 0
                let presented = request.headers[HTTPField.Name("webhook-signature")!]
                let expected = self.secret.withLock { $0 }.flatMap { WebhookSignature.sign(secret: $0, messageID: id, timestamp_seconds: timestamp, body: bytes) }
                self.calls.withLock {
                    $0.append(Call(path: path, signatureValid: presented != nil && presented == expected, body: String(decoding: bytes, as: UTF8.self)))
                }
                try await Task.sleep(for: delay)
                return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: json)))
            }
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in try await body(try #require(client.port)) }
    }
}

@Suite struct DecisioningWebhookTests {
    static func loopbackAllowed(_ configuration: inout AppConfiguration) {
        configuration.outboundURLPolicy = try! OutboundURLPolicy(allowedNetworksList: "127.0.0.0/8")
    }

    @Test(arguments: Backend.allCases)
    func theCustomersAnswerDecidesAndIsEvidence(_ backend: Backend) async throws {
        let endpoint = CustomerEndpoint()
        try await endpoint.run { port in
            try await TestEnvironment.run(backend, configure: Self.loopbackAllowed) { env in
                func fixture(_ path: String, timeout: Int = 1500, fallback: String = "decline") async throws -> AuthorizationFixture {
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
                endpoint.secret.withLock { $0 = secret }
                let unsigned = try await approving.authorize(100)
                #expect(unsigned.status_ == "approved", "\(unsigned.text)")
                let decision = try #require(unsigned.json["customer_decision"] as? [String: Any])
                #expect(decision["source"] as? String == "webhook" && decision["decision"] as? String == "approve")
                #expect(decision["latency_ms"] as? Int != nil)
                #expect(unsigned.rule("customer_decision")?["result"] as? String == "pass")
                let call = try #require(endpoint.calls.withLock { $0.last })
                #expect(call.body.contains("\"last4\"") && call.body.contains(approving.card))
                #expect(call.signatureValid, "Standard Webhooks signature with the program's secret")
                #expect(!call.body.contains("\"pan\""))

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
    func aSlowEndpointFallsBackAtTheDeadlineWithoutHoldingLocks(_ backend: Backend) async throws {
        let endpoint = CustomerEndpoint()
        try await endpoint.run { port in
            try await TestEnvironment.run(backend, configure: Self.loopbackAllowed) { env in
                let slow = try await AuthorizationFixture.make(env, program: #"""
                    , "authorization_webhook": {"url": "http://127.0.0.1:\#(port)/slow", "timeout_ms": 500, "fallback": "approve"}
                    """#, fund: 1_000)
                let plain = try await AuthorizationFixture.make(env, fund: 1_000)
                let slowDone = Mutex(false)
                async let waited: TestReply = {
                    let reply = try await slow.authorize(100)
                    slowDone.withLock { $0 = true }
                    return reply
                }()
                try await Task.sleep(for: .milliseconds(150))
                // While the first waits on the customer's endpoint, other decisions commit.
                #expect(try await plain.authorize(100).status_ == "approved")
                #expect(slowDone.withLock { $0 } == false)
                let reply = try await waited
                #expect(reply.status_ == "approved", "\(reply.text)")
                let decision = try #require(reply.json["customer_decision"] as? [String: Any])
                #expect(decision["source"] as? String == "fallback" && decision["failure"] as? String == "timeout")
                let latency = try #require(decision["latency_ms"] as? Int)
                #expect(latency >= 500 && latency < 1_900)
                let evidence = try await env.get("/authorizations/\(reply.id)/evidence").json
                #expect((evidence["customer_decision"] as? [String: Any])?["failure"] as? String == "timeout")
                #expect((evidence["timings"] as? [String: Any])?["customer_decision_latency_ms"] as? Int == latency)
            }
        }
    }
}
