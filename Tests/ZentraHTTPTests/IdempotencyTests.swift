import Foundation
import Testing
import ZentraCore
@testable import ZentraHTTP
import ZentraStorage

@Suite struct IdempotencyTests {
    @Test(arguments: Backend.allCases)
    func replayAnswersTheFirstResponseByteForByte(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let account = try await env.createAccount(customer: try await env.createCustomer())
            let first = try await env.deposit(account, 500, reference: "r1", idempotencyKey: "key-1")
            let replay = try await env.deposit(account, 500, reference: "r1", idempotencyKey: "key-1")
            #expect(first.status == .created && replay.status == .created)
            #expect(replay.body == first.body)
            #expect(replay.headers[.init("Idempotent-Replayed")!] == "true")
            #expect(first.headers[.init("Idempotent-Replayed")!] == nil)
            #expect(replay.headers[.init("Request-Id")!] != first.headers[.init("Request-Id")!])
            #expect(try await env.get("/accounts/\(account)").json["available_minor"] as? Int == 500)
        }
    }

    /// Answers that show a secret once (an API key, a webhook signing secret, a decisioning secret)
    /// replay the same bytes, but the idempotency record holds them sealed: never the secret in plain text.
    @Test(arguments: Backend.allCases)
    func answersThatShowASecretAreKeptSealed(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let requests: [(path: String, body: String, secret: String)] = [
                ("/api-keys", #"{"role": "developer"}"#, "api_key"),
                ("/webhook-endpoints", #"{"url": "https://hooks.example.com/z", "event_types": ["*"]}"#, "secret"),
                ("/card-programs", #"{"name": "Hooked", "currency": "USD", "bin": "424242", "authorization_webhook": {"url": "https://decide.example.com/z"}}"#,
                 "authorization_webhook_secret"),
            ]
            for (index, request) in requests.enumerated() {
                let key = "secret-\(index)"
                let first = try await env.post(request.path, request.body, headers: ["Idempotency-Key": key])
                #expect(first.status == .created, "\(request.path): \(first.text)")
                let secret = try #require(first.json[request.secret] as? String, "\(request.path)")
                let replay = try await env.post(request.path, request.body, headers: ["Idempotency-Key": key])
                #expect(replay.body == first.body && replay.headers[.init("Idempotent-Replayed")!] == "true")
                #expect(replay.headers[.cacheControl] == "no-store")
                let stored = try await env.store.engine.withReader { sql in
                    try await sql.queryOne("SELECT response_body, response_sealed FROM idempotency_keys WHERE key = \(key)")
                }
                let row = try #require(stored)
                #expect(try row.int("response_sealed") == 1)
                let body = try row.bytes("response_body")
                #expect(!String(decoding: body, as: UTF8.self).contains(secret), "\(request.path): the secret is stored in plain text")
            }
            // An answer without a secret is kept as it is.
            _ = try await env.post("/customers", #"{"name": "Ann", "email": "ann@example.com"}"#, headers: ["Idempotency-Key": "plain"])
            let plain = try await env.store.engine.withReader { sql in
                try await sql.queryOne("SELECT response_sealed FROM idempotency_keys WHERE key = 'plain'")
            }
            #expect(try plain?.int("response_sealed") == 0)
        }
    }

    @Test(arguments: Backend.allCases)
    func bodyFieldWorksLikeTheHeaderAndKeyOrderDoesNotMatter(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let first = try await env.post("/customers", #"{"name": "Ann", "email": "ann@example.com", "idempotency_key": "cust-1"}"#)
            let replay = try await env.post("/customers", #"{"idempotency_key": "cust-1", "email": "ann@example.com",  "name": "Ann"}"#)
            #expect(first.status == .created)
            #expect(replay.body == first.body)
            #expect(replay.headers[.init("Idempotent-Replayed")!] == "true")
            #expect(try await env.get("/customers").list.count == 1)
        }
    }

    @Test(arguments: Backend.allCases)
    func sameKeyWithADifferentBodyIsRefused(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let account = try await env.createAccount(customer: try await env.createCustomer())
            _ = try await env.deposit(account, 500, reference: "r1", idempotencyKey: "key-1")
            let reused = try await env.deposit(account, 501, reference: "r1", idempotencyKey: "key-1")
            #expect(reused.status == .unprocessableContent)
            #expect(reused.errorCode == "idempotency_key_reused")
            #expect(try await env.get("/accounts/\(account)").json["available_minor"] as? Int == 500)
        }
    }

    @Test(arguments: Backend.allCases)
    func sameKeyWhileTheFirstIsRunningAnswersInProgress(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let body = #"{"name": "Ann", "email": "ann@example.com"}"#
            // Claim the key exactly as a request that is still running would have.
            let parsed = try ParsedBody.parse(Array(body.utf8))
            let outcome = try await IdempotencyRecords.claim(
                tenant: env.tenant, key: "busy", fingerprint: parsed.fingerprint(method: .post, path: "/customers"),
                token: "other-request", now: env.store.clock.now(), leaseSeconds: 60, retentionSeconds: 86_400,
                engine: env.store.engine)
            guard case .claimed = outcome else { Issue.record("expected a fresh claim"); return }
            let busy = try await env.post("/customers", body, headers: ["Idempotency-Key": "busy"])
            #expect(busy.status == .conflict)
            #expect(busy.errorCode == "idempotency_request_in_progress")
            #expect(try await env.get("/customers").list.isEmpty)
        }
    }

    @Test(arguments: Backend.allCases)
    func abandonedClaimIsTakenOverAfterItsLease(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend, configure: { $0.idempotencyLeaseSeconds = 0 }) { env in
            let body = #"{"name": "Ann", "email": "ann@example.com"}"#
            let parsed = try ParsedBody.parse(Array(body.utf8))
            _ = try await IdempotencyRecords.claim(
                tenant: env.tenant, key: "crashed", fingerprint: parsed.fingerprint(method: .post, path: "/customers"),
                token: "dead-process", now: env.store.clock.now().adding(seconds: -5), leaseSeconds: 1,
                retentionSeconds: 86_400, engine: env.store.engine)
            let retried = try await env.post("/customers", body, headers: ["Idempotency-Key": "crashed"])
            #expect(retried.status == .created)
            #expect(try await env.get("/customers").list.count == 1)
        }
    }

    @Test(arguments: Backend.allCases)
    func twentyConcurrentRequestsWithOneKeyProduceOneEffect(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let account = try await env.createAccount(customer: try await env.createCustomer())
            let statuses = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
                for _ in 0..<20 {
                    group.addTask {
                        let reply = try await env.deposit(account, 700, reference: "concurrent", idempotencyKey: "one-key")
                        return (reply.status.code, reply.headers[.init("Idempotent-Replayed")!])
                    }
                }
                return try await group.reduce(into: [(Int, String?)]()) { $0.append($1) }
            }
            let fresh = statuses.filter { $0.0 == 201 && $0.1 == nil }
            #expect(fresh.count == 1, "exactly one request ran: \(statuses)")
            #expect(statuses.allSatisfy { $0.0 == 201 || $0.0 == 409 }, "\(statuses)")
            #expect(try await env.get("/accounts/\(account)").json["available_minor"] as? Int == 700)
            let deposits = try await env.store.engine.withReader { try await $0.queryOne("SELECT COUNT(*) AS n FROM deposits")!.int("n") }
            #expect(deposits == 1)
        }
    }

    @Test(arguments: Backend.allCases)
    func refusalIsStoredAndReplayedToo(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let first = try await env.post("/accounts", #"{"customer": "cus_missing", "currency": "USD"}"#, headers: ["Idempotency-Key": "k"])
            #expect(first.status == .notFound)
            let replay = try await env.post("/accounts", #"{"customer": "cus_missing", "currency": "USD"}"#, headers: ["Idempotency-Key": "k"])
            #expect(replay.body == first.body)
            #expect(replay.headers[.init("Idempotent-Replayed")!] == "true")
        }
    }

    /// Refused by validation, nothing ran and nothing is stored: the corrected request may reuse its key.
    @Test(arguments: Backend.allCases)
    func aRequestRefusedByValidationLeavesItsKeyFree(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            // Checked by the use case, inside the unit of work: after the key was claimed.
            let typo = try await env.post("/customers", #"{"name": "Ann", "email": "ann@example"}"#, headers: ["Idempotency-Key": "fix-me"])
            #expect(typo.status == .badRequest && typo.errorCode == "parameter_invalid" && typo.errorParam == "email", "\(typo.text)")
            let fixed = try await env.post("/customers", #"{"name": "Ann", "email": "ann@example.com"}"#, headers: ["Idempotency-Key": "fix-me"])
            #expect(fixed.status == .created, "\(fixed.text)")
            #expect(fixed.headers[.init("Idempotent-Replayed")!] == nil)
            let again = try await env.post("/customers", #"{"name": "Ann", "email": "ann@example.com"}"#, headers: ["Idempotency-Key": "fix-me"])
            #expect(again.body == fixed.body && again.headers[.init("Idempotent-Replayed")!] == "true")
        }
    }

    @Test(arguments: Backend.allCases)
    func keysAreScopedToTheTenant(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let other = try await env.otherTenantKey()
            let mine = try await env.post("/customers", #"{"name": "A", "email": "a@example.com"}"#, headers: ["Idempotency-Key": "shared"])
            let theirs = try await env.post("/customers", #"{"name": "A", "email": "a@example.com"}"#, key: other, headers: ["Idempotency-Key": "shared"])
            #expect(mine.status == .created && theirs.status == .created)
            #expect(mine.id != theirs.id)
            #expect(theirs.headers[.init("Idempotent-Replayed")!] == nil)
        }
    }
}

import HTTPTypes
import ZentraTestSupport
