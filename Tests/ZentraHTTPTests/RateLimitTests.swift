import Testing
import ZentraCore
@testable import ZentraHTTP
import ZentraTestSupport

/// Per API key, a token bucket; past it 429 `rate_limited` with `Retry-After` and `RateLimit`
/// headers, and nothing written. Network keys are not limited unless configured.
@Suite struct RateLimitTests {
    @Test func aKeyPastItsBurstIsRefusedUntilTimeRefillsIt() async throws {
        let clock = TestClock("2026-12-04T12:00:00Z")
        try await TestEnvironment.run(.sqlite, clock: clock, configure: { $0.rateLimit = RateLimitSettings(perSecond: 2) }) { env in
            let developer = try await env.createKey(role: "developer")
            let other = try await env.createKey(role: "developer")
            for remaining in (0..<4).reversed() {
                let reply = try await env.get("/customers", key: developer)
                #expect(reply.status == .ok)
                #expect(reply.headers[.init("RateLimit")!] == "\"per-key\";r=\(remaining);t=\((4 - remaining + 1) / 2)")
                #expect(reply.headers[.init("RateLimit-Policy")!] == "\"per-key\";q=4;w=2")
            }
            let before = try await env.footprint()
            let refused = try await env.post("/customers", #"{"name": "Ada", "email": "ada@example.com"}"#, key: developer)
            #expect(refused.status == .tooManyRequests && refused.errorCode == "rate_limited")
            #expect(refused.headers[.retryAfter] == "1" && refused.headers[.init("Request-Id")!] != nil)
            #expect(try await env.footprint() == before, "a refusal writes nothing")
            #expect(try await env.get("/customers", key: other).status == .ok, "another key has its own bucket")

            clock.set("2026-12-04T12:00:00.499Z")
            #expect(try await env.get("/customers", key: developer).status == .tooManyRequests)
            clock.set("2026-12-04T12:00:00.500Z")
            #expect(try await env.get("/customers", key: developer).status == .ok, "half a second brings one request back")
        }
    }

    @Test func networkKeysAreNotLimitedUnlessConfigured() async throws {
        let clock = TestClock("2026-12-04T12:00:00Z")
        try await TestEnvironment.run(.sqlite, clock: clock, configure: { $0.rateLimit = RateLimitSettings(perSecond: 1) }) { env in
            let network = try await env.createKey(role: "network")
            for _ in 0..<20 { #expect(try await env.get("/authorizations", key: network).status == .ok) }
        }
        try await TestEnvironment.run(.sqlite, clock: clock,
                                      configure: { $0.rateLimit = RateLimitSettings(perSecond: 1, networkPerSecond: 1) }) { env in
            let network = try await env.createKey(role: "network")
            for _ in 0..<2 { #expect(try await env.get("/authorizations", key: network).status == .ok) }
            #expect(try await env.get("/authorizations", key: network).status == .tooManyRequests)
        }
    }
}
