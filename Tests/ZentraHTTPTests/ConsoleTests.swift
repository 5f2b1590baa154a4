import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import ZentraCore
@testable import ZentraHTTP
import ZentraTestSupport

/// The console's sessions on both databases: who may sign in, expiry, revocation, CSRF on the
/// sign-in form. The pages and actions themselves are driven in a real browser (e2e).
@Suite struct ConsoleTests {
    struct Page {
        let status: HTTPResponse.Status
        let headers: HTTPFields
        let html: String

        var location: String? { headers[.location] }
        var cookies: [String: String] {
            var found: [String: String] = [:]
            for value in headers[values: .setCookie] {
                let pair = value.split(separator: ";")[0].split(separator: "=", maxSplits: 1)
                found[String(pair[0])] = pair.count > 1 ? String(pair[1]) : ""
            }
            return found
        }
    }

    static func send(_ env: TestEnvironment, _ method: HTTPRequest.Method, _ path: String, cookie: String? = nil, form: String? = nil)
        async throws -> Page
    {
        var headers: HTTPFields = [:]
        if let cookie { headers[.cookie] = cookie }
        if form != nil { headers[.contentType] = "application/x-www-form-urlencoded" }
        return try await env.client.execute(uri: path, method: method, headers: headers, body: form.map { ByteBuffer(string: $0) }) { response in
            Page(status: response.status, headers: response.headers, html: String(buffer: response.body))
        }
    }

    /// Signs in through the form and answers the session cookie.
    static func signIn(_ env: TestEnvironment, key: String) async throws -> (Page, cookie: String?) {
        let form = try await send(env, .get, "/console/login")
        let csrf = try #require(form.cookies["zentra_console_signin"])
        #expect(form.html.contains("value=\"\(csrf)\""))
        let answer = try await send(env, .post, "/console/login", cookie: "zentra_console_signin=\(csrf)", form: "csrf=\(csrf)&api_key=\(key)")
        return (answer, answer.cookies["zentra_console"].map { "zentra_console=\($0)" })
    }

    @Test(arguments: Backend.allCases)
    func sessionsEndWithExpiryRevocationAndSignOut(_ backend: Backend) async throws {
        let clock = TestClock("2026-11-23T09:00:00Z")
        try await TestEnvironment.run(backend, clock: clock) { env in
            #expect(try await Self.send(env, .get, "/console").location == "/console/login")
            #expect(try await Self.send(env, .get, "/console/sign-in").location == "/console/login", "the earlier address redirects")
            let operatorReply = try await env.post("/api-keys", #"{"role": "operator"}"#)
            let operatorKey = try #require(operatorReply.json["api_key"] as? String)
            let (signedIn, cookie) = try await Self.signIn(env, key: operatorKey)
            #expect(signedIn.status == .seeOther && signedIn.location == "/console")
            let setCookie = signedIn.headers[values: .setCookie].first { $0.hasPrefix("zentra_console=") } ?? ""
            #expect(setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Strict") && setCookie.contains("Path=/console"))
            let dashboard = try await Self.send(env, .get, "/console", cookie: cookie)
            #expect(dashboard.status == .ok && dashboard.html.contains("review-size"))
            let audit = try await env.get("/audit-log?limit=5").list
            #expect(audit.contains { $0["action"] as? String == "console.signed_in" && $0["actor"] as? String == operatorReply.id })

            // Eight hours later the session is over.
            clock.set("2026-11-23T17:00:01Z")
            #expect(try await Self.send(env, .get, "/console", cookie: cookie).location == "/console/login")

            // Revoking the key ends its session at once.
            let (_, second) = try await Self.signIn(env, key: operatorKey)
            #expect(try await Self.send(env, .get, "/console", cookie: second).status == .ok)
            _ = try await env.request(.delete, "/api-keys/\(operatorReply.id)")
            #expect(try await Self.send(env, .get, "/console", cookie: second).location == "/console/login")

            // Sign-out needs the session's CSRF token, and then the cookie is worthless.
            let (_, third) = try await Self.signIn(env, key: env.adminKey)
            let page = try await Self.send(env, .get, "/console", cookie: third)
            let csrf = try #require(page.html.firstMatch(of: /name="csrf" value="([^"]+)"/)?.1)
            #expect(try await Self.send(env, .post, "/console/sign-out", cookie: third, form: "csrf=wrong").status == .forbidden)
            #expect(try await Self.send(env, .get, "/console", cookie: third).status == .ok)
            #expect(try await Self.send(env, .post, "/console/sign-out", cookie: third, form: "csrf=\(csrf)").location == "/console/login")
            #expect(try await Self.send(env, .get, "/console", cookie: third).location == "/console/login")
        }
    }

    @Test(arguments: Backend.allCases)
    func onlyOperatorAndAdminKeysSignInAndTheFormNeedsItsToken(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            for role in ["developer", "network", "readonly"] {
                let (answer, cookie) = try await Self.signIn(env, key: try await env.createKey(role: role))
                #expect(answer.status == .forbidden && cookie == nil, "\(role)")
            }
            let (wrong, none) = try await Self.signIn(env, key: "zk_not_a_key")
            #expect(wrong.status == .unauthorized && none == nil && wrong.html.contains("not valid"))
            // A form posted from elsewhere has no matching sign-in cookie.
            let forged = try await Self.send(env, .post, "/console/login", form: "csrf=abc&api_key=\(env.adminKey)")
            #expect(forged.status == .forbidden && forged.cookies["zentra_console"] == nil)
        }
    }

    @Test(arguments: Backend.allCases)
    func theDashboardCountsTheTenantsDayAndChartsItsSpend(_ backend: Backend) async throws {
        let clock = TestClock("2026-01-15T04:30:00Z")   // 23:30 on the 14th in New York
        try await TestEnvironment.run(backend, clock: clock) { env in
            _ = try await env.post("/tenant", #"{"time_zone": "America/New_York"}"#)
            let f = try await AuthorizationFixture.make(env, program: #", "review_rules": [{"type": "amount_over", "amount_minor": 5000}]"#)
            #expect(try await f.authorize(700).status_ == "approved")       // the 14th, local
            clock.set("2026-01-15T05:30:00Z")                              // 00:30 on the 15th, local
            #expect(try await f.authorize(300).status_ == "approved")
            #expect(try await f.authorize(6_000).status_ == "review")
            #expect(try await f.authorize(200).status_ == "approved")
            let (_, cookie) = try await Self.signIn(env, key: f.operatorKey)
            let page = try await Self.send(env, .get, "/console", cookie: cookie)
            #expect(page.status == .ok)
            func tile(_ id: String, _ value: String) -> Bool { page.html.contains("id=\"\(id)\">\(value)<") }
            #expect(tile("authorizations-today", "3"), "the 23:30 authorization was yesterday in New York")
            #expect(tile("approval-rate", "66.6%"))
            #expect(tile("review-size", "1"))
            #expect(page.html.contains("America/New_York"))
            // One bar per local day; the 14th holds 7.00 USD and the 15th 3.00 + 2.00 approved.
            #expect(page.html.contains("<title>2026-01-14: 7.00 USD</title>"), "\(page.html)")
            #expect(page.html.contains("<title>2026-01-15: 5.00 USD</title>"))
        }
    }
}
