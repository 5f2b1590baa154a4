import Foundation
import Testing
import ZentraCore
import ZentraHTTP
import ZentraTestSupport

@Suite struct WebhookEndpointTests {
    @Test(arguments: Backend.allCases)
    func endpointsShowTheirSecretOnceAndAreManagedByAdminKeysOnly(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend, configure: { $0.outboundURLPolicy = try! OutboundURLPolicy(allowedNetworksList: "127.0.0.0/8") }) { env in
            let created = try await env.post("/webhook-endpoints", #"""
                {"url": "http://127.0.0.1:9/hooks", "event_types": ["authorization.*", "clearing.matched", "clearing.matched"], "description": "ops"}
                """#)
            #expect(created.status == .created, "\(created.text)")
            #expect(created.id.hasPrefix("we_") && (created.json["secret"] as? String)?.hasPrefix("whsec_") == true)
            #expect(created.headers[.init("Cache-Control")!] == "no-store", "a secret shown once is kept by no cache")
            #expect(created.json["event_types"] as? [String] == ["authorization.*", "clearing.matched"], "duplicates dropped, order kept")
            let fetched = try await env.get("/webhook-endpoints/\(created.id)")
            #expect(fetched.json["secret"] == nil && fetched.json["status"] as? String == "enabled", "the secret is never shown again")
            #expect(!fetched.text.contains(created.json["secret"] as! String))
            #expect(try await env.get("/webhook-endpoints").list.count == 1)

            let developer = try await env.createKey(role: "developer")
            #expect(try await env.get("/webhook-endpoints", key: developer).status == .forbidden)
            #expect(try await env.post("/webhook-endpoints", #"{"url": "https://example.com", "event_types": ["*"]}"#, key: developer).status == .forbidden)

            let updated = try await env.post("/webhook-endpoints/\(created.id)", #"{"event_types": ["*"], "description": "all"}"#)
            #expect(updated.json["event_types"] as? [String] == ["*"] && updated.json["url"] as? String == "http://127.0.0.1:9/hooks")
            let disabled = try await env.post("/webhook-endpoints/\(created.id)/disable")
            #expect(disabled.json["status"] as? String == "disabled")
            #expect(try await env.post("/webhook-endpoints/\(created.id)/enable").json["status"] as? String == "enabled")

            let rotated = try await env.post("/webhook-endpoints/\(created.id)/rotate-secret", #"{"grace_period_seconds": 3600}"#)
            #expect(rotated.status == .ok, "\(rotated.text)")
            let newSecret = try #require(rotated.json["secret"] as? String)
            #expect(newSecret.hasPrefix("whsec_") && newSecret != created.json["secret"] as? String)
            #expect(rotated.json["previous_secret_expires_at"] as? String != nil)
            #expect(try await env.post("/webhook-endpoints/\(created.id)/rotate-secret", #"{"grace_period_seconds": 999999999}"#).errorParam
                == "grace_period_seconds")

            let events = try await env.get("/events?limit=100").list.compactMap { $0["type"] as? String }.filter { $0.hasPrefix("webhook_endpoint.") }
            #expect(Set(events) == ["webhook_endpoint.created", "webhook_endpoint.updated", "webhook_endpoint.disabled",
                                    "webhook_endpoint.enabled", "webhook_endpoint.secret_rotated"])
            let audit = try await env.get("/audit-log?limit=100").text
            #expect(!audit.contains(newSecret) && !audit.contains(created.json["secret"] as! String), "secrets are in no audit record")
            #expect(try await env.get("/events?limit=100").text.contains("whsec_") == false, "nor in any event")

            let deleted = try await env.request(.delete, "/webhook-endpoints/\(created.id)")
            #expect(deleted.status == .ok && deleted.json["deleted"] as? Bool == true && deleted.json["id"] as? String == created.id)
            #expect(deleted.json["status"] == nil, "a deleted endpoint is not answered as enabled")
            #expect(try await env.get("/webhook-endpoints/\(created.id)").status == .notFound)
            let other = try await env.otherTenantKey()
            #expect(try await env.get("/webhook-endpoints/\(created.id)", key: other).status == .notFound)
        }
    }

    @Test(arguments: Backend.allCases)
    func badEndpointsAreRefusedAndChangeNothing(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let before = try await env.footprint()
            for (body, param) in [
                (#"{"url": "http://127.0.0.1/hooks", "event_types": ["*"]}"#, "url"),
                (#"{"url": "http://10.1.2.3/hooks", "event_types": ["*"]}"#, "url"),
                (#"{"url": "ftp://example.com/hooks", "event_types": ["*"]}"#, "url"),
                (#"{"url": "https://example.com/hooks", "event_types": []}"#, "event_types"),
                (#"{"url": "https://example.com/hooks", "event_types": ["Authorization.Approved"]}"#, "event_types"),
                (#"{"url": "https://example.com/hooks", "event_types": ["authorization..approved"]}"#, "event_types"),
            ] {
                let reply = try await env.post("/webhook-endpoints", body)
                #expect(reply.status == .badRequest && reply.errorParam == param, "\(body): \(reply.text)")
            }
            // Well formed, but no type of the catalog: a misspelling would never be delivered anything.
            for types in [#"["authorisation.*"]"#, #"["authorization.approve"]"#, #"["card.*", "cards.issued"]"#] {
                let reply = try await env.post("/webhook-endpoints", #"{"url": "https://example.com/hooks", "event_types": \#(types)}"#)
                #expect(reply.status == .unprocessableContent && reply.errorCode == "unknown_event_type" && reply.errorParam == "event_types",
                        "\(types): \(reply.text)")
            }
            #expect(try await env.footprint() == before)
        }
    }

    /// The catalog openapi.yaml lists is the one the server emits from.
    @Test func openAPIListsTheEventTypeCatalog() throws {
        let root = try #require(try JSONSerialization.jsonObject(with: Data(OpenAPIDocument.load().json)) as? [String: Any])
        let schemas = (root["components"] as? [String: Any])?["schemas"] as? [String: Any]
        let listed = try #require((schemas?["EventType"] as? [String: Any])?["enum"] as? [String])
        #expect(listed == EventType.allCases.map(\.rawValue))
    }

    @Test func subscriptionsMatchExactNamesPrefixesAndEverything() {
        let endpoint = WebhookEndpoint(id: .init(unchecked: "we_1"), url: "https://example.com", eventTypes: ["authorization.*", "dispute.won"],
                                       description: nil, status: .enabled, previousSecretExpiresAt: nil,
                                       createdAt: Timestamp(microseconds: 0), updatedAt: Timestamp(microseconds: 0))
        #expect(endpoint.subscribes(to: "authorization.approved") && endpoint.subscribes(to: "dispute.won"))
        #expect(!endpoint.subscribes(to: "dispute.lost") && !endpoint.subscribes(to: "authorizations.approved"))
        var all = endpoint
        all.eventTypes = ["*"]
        #expect(all.subscribes(to: "clearing.matched"))
    }
}
