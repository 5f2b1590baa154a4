import Foundation
import Testing
import ZentraCore
@testable import ZentraHTTP
import ZentraStorage
import ZentraTestSupport

@Suite struct CardProgramTests {
    static let full = #"""
        {"name": "Gold", "currency": "USD", "bin": "42424242", "max_cards_per_customer": 3,
         "sensitive_details_enabled": true, "review_outcome": "approve", "hold_lifetime_hours": 72,
         "spend_controls": {"per_transaction_minor": 50000, "daily_minor": 100000, "monthly_minor": 250000,
                            "blocked_mccs": ["gambling", "6011", "6011"], "allowed_channels": ["online", "in_store"],
                            "allowed_countries": ["us", "CA"]},
         "review_rules": [{"type": "amount_over", "amount_minor": 75000}, {"type": "mcc", "mccs": ["7995"]},
                          {"type": "country", "countries": ["KP"]}],
         "authorization_webhook": {"url": "https://decisions.example.com/authorize", "timeout_ms": 800, "fallback": "approve"}}
        """#

    @Test(arguments: Backend.allCases)
    func programKeepsEveryFieldNormalized(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let created = try await env.post("/card-programs", Self.full)
            #expect(created.status == .created, "\(created.text)")
            let fetched = try await env.get("/card-programs/\(created.id)")
            var shownOnce = created.json
            let secret = shownOnce.removeValue(forKey: "authorization_webhook_secret") as? String
            #expect(secret?.hasPrefix("whsec_") == true, "the webhook signing secret is answered at creation")
            #expect(fetched.json["authorization_webhook_secret"] == nil, "and never again")
            #expect(NSDictionary(dictionary: fetched.json) == NSDictionary(dictionary: shownOnce))
            let program = fetched.json
            #expect(program["bin"] as? String == "42424242")
            #expect(program["max_cards_per_customer"] as? Int == 3)
            #expect(program["sensitive_details_enabled"] as? Bool == true)
            #expect(program["review_outcome"] as? String == "approve")
            #expect(program["hold_lifetime_hours"] as? Int == 72)
            let controls = try #require(program["spend_controls"] as? [String: Any])
            #expect(controls["blocked_mccs"] as? [String] == ["gambling", "6011"])
            #expect(controls["allowed_countries"] as? [String] == ["US", "CA"])
            #expect(controls["daily_minor"] as? Int == 100_000)
            #expect((program["review_rules"] as? [[String: Any]])?.count == 3)
            let webhook = try #require(program["authorization_webhook"] as? [String: Any])
            #expect(webhook["timeout_ms"] as? Int == 800 && webhook["fallback"] as? String == "approve")
            #expect(try await env.get("/events?type=card_program.created").list.count == 1)
        }
    }

    @Test(arguments: Backend.allCases)
    func programDefaultsFollowTheContract(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let created = try await env.post("/card-programs", #"{"name": "Basic", "currency": "EUR", "bin": "400000"}"#)
            #expect(created.status == .created, "\(created.text)")
            #expect(created.json["sensitive_details_enabled"] as? Bool == false)
            #expect(created.json["review_outcome"] as? String == "decline")
            #expect(created.json["hold_lifetime_hours"] as? Int == 168)
            #expect(created.json["authorization_webhook"] == nil)
        }
    }

    @Test(arguments: Backend.allCases)
    func invalidProgramsAreRefusedNamingTheFieldAndWriteNothing(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let base = #""name": "P", "currency": "USD""#
            let cases: [(body: String, status: Int, code: String, param: String)] = [
                (#"{\#(base), "bin": "12345"}"#, 400, "parameter_invalid", "bin"),
                (#"{\#(base), "bin": "123456789"}"#, 400, "parameter_invalid", "bin"),
                (#"{\#(base), "bin": "4242ab"}"#, 400, "parameter_invalid", "bin"),
                (#"{"name": "P", "currency": "ABC", "bin": "424242"}"#, 422, "invalid_currency", "currency"),
                (#"{\#(base), "bin": "424242", "max_cards_per_customer": 0}"#, 400, "parameter_invalid", "max_cards_per_customer"),
                (#"{\#(base), "bin": "424242", "hold_lifetime_hours": 0}"#, 400, "parameter_invalid", "hold_lifetime_hours"),
                (#"{\#(base), "bin": "424242", "review_outcome": "maybe"}"#, 400, "parameter_invalid", "review_outcome"),
                (#"{\#(base), "bin": "424242", "spend_controls": {"daily_minor": -1}}"#, 400, "parameter_invalid", "spend_controls.daily_minor"),
                (#"{\#(base), "bin": "424242", "spend_controls": {"daily_minor": 1.5}}"#, 400, "parameter_invalid", "spend_controls.daily_minor"),
                (#"{\#(base), "bin": "424242", "spend_controls": {"blocked_mccs": ["79"]}}"#, 400, "parameter_invalid", "spend_controls.blocked_mccs"),
                (#"{\#(base), "bin": "424242", "spend_controls": {"blocked_mccs": ["casinos"]}}"#, 400, "parameter_invalid", "spend_controls.blocked_mccs"),
                (#"{\#(base), "bin": "424242", "spend_controls": {"allowed_channels": ["teleport"]}}"#, 400, "parameter_invalid", "spend_controls.allowed_channels"),
                (#"{\#(base), "bin": "424242", "spend_controls": {"allowed_countries": ["XX"]}}"#, 400, "parameter_invalid", "spend_controls.allowed_countries"),
                (#"{\#(base), "bin": "424242", "review_rules": [{"type": "velocity"}]}"#, 400, "parameter_invalid", "review_rules[0].type"),
                (#"{\#(base), "bin": "424242", "review_rules": [{"type": "amount_over"}]}"#, 400, "parameter_missing", "review_rules[0].amount_minor"),
                (#"{\#(base), "bin": "424242", "review_rules": [{"type": "mcc", "mccs": []}]}"#, 400, "parameter_missing", "review_rules[0].mccs"),
                (#"{\#(base), "bin": "424242", "authorization_webhook": {"url": "ftp://x.example.com"}}"#, 400, "parameter_invalid", "authorization_webhook.url"),
                (#"{\#(base), "bin": "424242", "authorization_webhook": {"url": "http://127.0.0.1:9000/hook"}}"#, 400, "parameter_invalid", "authorization_webhook.url"),
                (#"{\#(base), "bin": "424242", "authorization_webhook": {"url": "http://10.1.2.3/hook"}}"#, 400, "parameter_invalid", "authorization_webhook.url"),
                (#"{\#(base), "bin": "424242", "authorization_webhook": {"url": "http://localhost/hook"}}"#, 400, "parameter_invalid", "authorization_webhook.url"),
                (#"{\#(base), "bin": "424242", "authorization_webhook": {"url": "https://a.example.com", "timeout_ms": 5}}"#, 400, "parameter_invalid", "authorization_webhook.timeout_ms"),
                (#"{\#(base), "bin": "424242", "authorization_webhook": {"url": "https://a.example.com", "fallback": "ask"}}"#, 400, "parameter_invalid", "authorization_webhook.fallback"),
            ]
            let before = try await env.get("/card-programs").list.count
            for item in cases {
                let reply = try await env.post("/card-programs", item.body)
                #expect(reply.status.code == item.status, "\(item.body): \(reply.text)")
                #expect(reply.errorCode == item.code, "\(item.body): \(reply.text)")
                #expect(reply.errorParam == item.param, "\(item.body): \(reply.text)")
            }
            #expect(try await env.get("/card-programs").list.count == before)
        }
    }

    @Test(arguments: Backend.allCases)
    func allowedNetworksPermitInternalWebhookURLs(_ backend: Backend) async throws {
        let policy = try OutboundURLPolicy(allowedNetworksList: "127.0.0.0/8")
        try await TestEnvironment.run(backend, configure: { $0.outboundURLPolicy = policy }) { env in
            let reply = try await env.post("/card-programs", #"{"name": "Local", "currency": "USD", "bin": "424242", "authorization_webhook": {"url": "http://127.0.0.1:9000/hook"}}"#)
            #expect(reply.status == .created, "\(reply.text)")
            let private10 = try await env.post("/card-programs", #"{"name": "Private", "currency": "USD", "bin": "424242", "authorization_webhook": {"url": "http://10.0.0.1/hook"}}"#)
            #expect(private10.status == .badRequest)
        }
    }

    @Test(arguments: Backend.allCases)
    func programsOfAnotherTenantAreMissingAndRolesApply(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let created = try await env.post("/card-programs", Self.full)
            let other = try await env.otherTenantKey()
            #expect(try await env.get("/card-programs/\(created.id)", key: other).status == .notFound)
            #expect(try await env.get("/card-programs", key: other).list.isEmpty)
            let operatorKey = try await env.createKey(role: "operator")
            #expect(try await env.post("/card-programs", Self.full, key: operatorKey).status == .forbidden)
        }
    }
}
