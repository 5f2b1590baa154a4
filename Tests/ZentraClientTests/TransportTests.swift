import Foundation
import Testing
@testable import ZentraClient

/// Idempotency keys, retries and pagination, seen from the wire: a proxy between the SDK and the
/// live server drops answers or answers for the server, and records what the SDK sent.
@Suite struct TransportTests {
    @Test func aDroppedAnswerIsRetriedWithTheSameKeyAndActsOnce() async throws {
        try await LiveServer.run { server in
            let zentra = server.client()
            let f = try await Fixture.make(zentra)
            try await FaultProxy.run(upstream: server.baseURL) { proxy in
                let viaProxy = server.client(baseURL: proxy.baseURL)
                proxy.inject(.dropAnswer)
                let card = try await viaProxy.cards.issue(customer: f.customer.id, account: f.account.id, program: f.program.id)
                let posts = proxy.requests.filter { $0.method == "POST" }
                #expect(posts.count == 2, "the server answered once, unheard; the SDK asked again")
                let key = try #require(posts[0].headers["idempotency-key"])
                #expect(posts[1].headers["idempotency-key"] == key, "with the same key")
                let cards = try await NamespaceTests.all(zentra.cards.list(customer: f.customer.id))
                #expect(Set(cards.map(\.id)) == [f.card.id, card.id], "one card issued, not two")
                #expect(try await NamespaceTests.all(zentra.events.list(type: "card.issued")).count == 2)
            }
        }
    }

    @Test func retryableAnswersAreTriedAgainWithTheSameKey() async throws {
        try await LiveServer.run { server in
            try await FaultProxy.run(upstream: server.baseURL) { proxy in
                let zentra = server.client(baseURL: proxy.baseURL)
                proxy.inject(
                    .answer(status: 503, headers: ["Retry-After": "0"], body: Self.error("service_unavailable")),
                    .answer(status: 429, headers: ["Retry-After": "0"], body: Self.error("rate_limited")),
                    .answer(status: 409, headers: [:], body: Self.error("idempotency_request_in_progress")))
                let customer = try await zentra.customers.create(name: "Ada", email: "ada@example.com", idempotencyKey: "cus-1")
                let posts = proxy.requests.filter { $0.method == "POST" }
                #expect(posts.count == 4)
                #expect(posts.allSatisfy { $0.headers["idempotency-key"] == "cus-1" })
                #expect(try await server.client().customers.get(customer.id).name == "Ada")
            }
        }
    }

    @Test func otherErrorsAreNotRetried() async throws {
        try await LiveServer.run { server in
            try await FaultProxy.run(upstream: server.baseURL) { proxy in
                let zentra = server.client(baseURL: proxy.baseURL)
                for (status, code) in [(400, "parameter_invalid"), (402, "insufficient_funds"), (404, "resource_missing"), (422, "kyc_required")] {
                    let before = proxy.requests.count
                    proxy.inject(.answer(status: status, headers: ["Request-Id": "req_test"], body: Self.error(code)))
                    let error = try await SeedCallTests.error { try await zentra.customers.create(name: "Ada", email: "ada@example.com") }
                    #expect(error.status == status && error.code.rawValue == code && error.requestID == "req_test")
                    #expect(proxy.requests.count == before + 1, "\(status) is final")
                }
                // A wait longer than the policy allows is not waited for.
                proxy.inject(.answer(status: 503, headers: ["Retry-After": "3600"], body: Self.error("service_unavailable")))
                let unavailable = try await SeedCallTests.error { try await zentra.tenant.get() }
                #expect(unavailable.code == .serviceUnavailable && unavailable.retryAfterSeconds == 3600)
                // Retries end: the first try and three more.
                let before = proxy.requests.count
                for _ in 0..<4 { proxy.inject(.answer(status: 503, headers: [:], body: Self.error("service_unavailable"))) }
                let exhausted = try await SeedCallTests.error { try await zentra.tenant.get() }
                #expect(exhausted.code == .serviceUnavailable && proxy.requests.count == before + 4)
            }
        }
    }

    @Test func listsFollowStartingAfterPageByPage() async throws {
        try await LiveServer.run { server in
            var created: [String] = []
            for number in 1...7 {
                created.append(try await server.client().customers.create(name: "Customer \(number)", email: "c\(number)@example.com").id)
            }
            try await FaultProxy.run(upstream: server.baseURL) { proxy in
                let listed = try await NamespaceTests.all(server.client(baseURL: proxy.baseURL).customers.list(pageSize: 3))
                #expect(listed.map(\.id) == created.reversed(), "every customer once, newest first")
                let pages = proxy.requests.map(\.uri)
                #expect(pages.count == 3)
                #expect(pages[0] == "/customers?limit=3")
                #expect(pages[1] == "/customers?limit=3&starting_after=\(created[4])")
                #expect(pages[2] == "/customers?limit=3&starting_after=\(created[1])")

                // Breaking out early asks for no further page.
                var seen = 0
                for try await _ in server.client(baseURL: proxy.baseURL).customers.list(pageSize: 3) {
                    seen += 1
                    if seen == 2 { break }
                }
                #expect(proxy.requests.count == 4)
            }
        }
    }

    @Test func whatANewerServerAddsDecodesWithoutFailing() async throws {
        try await LiveServer.run { server in
            let f = try await Fixture.make(server.client())
            try await FaultProxy.run(upstream: server.baseURL) { proxy in
                // The live card, with a status and a field this SDK has never heard of.
                var card = try JSONSerialization.jsonObject(
                    with: try JSONCoding.encoder.encode(f.card)) as! [String: Any]
                card["status"] = "suspended"
                card["issuing_bank"] = ["name": "Zentra Bank", "since": 2031]
                let body = String(decoding: try JSONSerialization.data(withJSONObject: card), as: UTF8.self)
                proxy.inject(.answer(status: 200, headers: ["Content-Type": "application/json"], body: body))
                let decoded = try await server.client(baseURL: proxy.baseURL).cards.get(f.card.id)
                #expect(decoded.status == .unknown("suspended") && decoded.status.rawValue == "suspended")
                #expect(decoded.id == f.card.id && decoded.last4 == f.card.last4)

                proxy.inject(.answer(status: 409, headers: [:], body: Self.error("card_on_fire")))
                let error = try await SeedCallTests.error { try await server.client(baseURL: proxy.baseURL).cards.get(f.card.id) }
                #expect(error.code == .unknown("card_on_fire"))
            }
        }
    }

    static func error(_ code: String) -> String {
        #"{"error": {"type": "test", "code": "\#(code)", "message": "injected by the test proxy"}}"#
    }
}

/// The retry policy's waits, computed without waiting.
@Suite struct RetryPolicyTests {
    @Test func backoffDoublesUpToItsCapWithJitterInTheUpperHalf() {
        let policy = RetryPolicy(maxRetries: 10, initialDelay: .milliseconds(100), maxDelay: .seconds(1))
        #expect(policy.delay(afterAttempt: 0, retryAfterSeconds: nil, jitter: 1) == .milliseconds(100))
        #expect(policy.delay(afterAttempt: 0, retryAfterSeconds: nil, jitter: 0) == .milliseconds(50))
        #expect(policy.delay(afterAttempt: 2, retryAfterSeconds: nil, jitter: 1) == .milliseconds(400))
        #expect(policy.delay(afterAttempt: 9, retryAfterSeconds: nil, jitter: 1) == .seconds(1), "capped")
        #expect(policy.delay(afterAttempt: 10, retryAfterSeconds: nil, jitter: 1) == nil, "no tries left")
        #expect(policy.delay(afterAttempt: 0, retryAfterSeconds: 7, jitter: 0) == .seconds(7), "Retry-After wins")
        #expect(policy.delay(afterAttempt: 0, retryAfterSeconds: 61, jitter: 0) == nil, "too long to wait")
        #expect(RetryPolicy(maxRetries: 0).delay(afterAttempt: 0, retryAfterSeconds: nil, jitter: 1) == nil)
    }
}
