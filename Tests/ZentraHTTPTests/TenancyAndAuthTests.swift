import Foundation
import Testing
import ZentraCore
import ZentraStorage
import ZentraTestSupport

@Suite struct TenancyAndAuthTests {
    @Test(arguments: Backend.allCases)
    func everyResourceOfAnotherTenantIsMissing(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let customer = try await env.createCustomer()
            let account = try await env.createAccount(customer: customer)
            let deposit = try await env.deposit(account, 900, reference: "iso")
            let journal = try #require(deposit.json["journal_entry"] as? String)
            let intent = try #require(deposit.json["intent"] as? String)
            let ledgerAccount = try #require(try await env.get("/ledger/accounts").list.first?["id"] as? String)
            let event = try #require(try await env.get("/events").list.first?["id"] as? String)
            let key = try await env.post("/api-keys", #"{"role": "readonly"}"#).id

            let other = try await env.otherTenantKey()
            for path in ["/customers/\(customer)", "/accounts/\(account)", "/ledger/accounts/\(ledgerAccount)",
                         "/ledger/accounts/\(ledgerAccount)/entries", "/ledger/journal-entries/\(journal)",
                         "/events/\(event)", "/runtime/intents/\(intent)"] {
                let reply = try await env.get(path, key: other)
                #expect(reply.status == .notFound, "\(path) leaked: \(reply.text)")
                #expect(reply.errorCode == "resource_missing")
            }
            let writes: [(String, String)] = [
                ("/accounts/\(account)/deposits", #"{"amount_minor": 5, "transaction_reference": "steal"}"#),
                ("/customers/\(customer)/kyc", #"{"status": "rejected"}"#),
                ("/accounts", #"{"customer": "\#(customer)", "currency": "USD"}"#),
            ]
            for (path, body) in writes {
                let reply = try await env.post(path, body, key: other)
                #expect(reply.status == .notFound, "\(path) reached another tenant: \(reply.text)")
            }
            #expect(try await env.request(.delete, "/api-keys/\(key)", key: other).status == .notFound)
            for list in ["/customers", "/accounts", "/ledger/accounts", "/events", "/audit-log", "/runtime/intents", "/api-keys"] {
                let ids = try await env.get(list, key: other).list.compactMap { $0["id"] as? String }
                #expect(!ids.contains(customer) && !ids.contains(account) && !ids.contains(event) && !ids.contains(key), "\(list)")
            }
            #expect(try await env.get("/accounts/\(account)").json["available_minor"] as? Int == 900)
            #expect(try await env.get("/customers/\(customer)").json["kyc_status"] as? String == "verified")
        }
    }

    @Test(arguments: Backend.allCases)
    func keysAuthenticateByRoleAndRevocationIsImmediate(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            #expect(try await env.get("/customers", key: "").status == .unauthorized)
            #expect(try await env.get("/customers", key: "zk_not_a_key").errorCode == "unauthenticated")

            let readonly = try await env.createKey(role: "readonly")
            #expect(try await env.get("/accounts", key: readonly).status == .ok)
            let write = try await env.post("/customers", #"{"name": "A", "email": "a@example.com"}"#, key: readonly)
            #expect(write.status == .forbidden && write.errorCode == "forbidden")

            let network = try await env.createKey(role: "network")
            #expect(try await env.post("/customers", #"{"name": "A", "email": "a@example.com"}"#, key: network).status == .forbidden)
            // Customers' personal data is for developer and operator keys (and admin), not the network's or readonly ones.
            let someone = try await env.createCustomer()
            for key in [readonly, network] {
                #expect(try await env.get("/customers", key: key).status == .forbidden)
                #expect(try await env.get("/customers/\(someone)", key: key).status == .forbidden)
            }
            // Operators read webhook endpoints (the console shows them) but only admins change them.
            let operatorReader = try await env.createKey(role: "operator")
            #expect(try await env.get("/webhook-endpoints", key: operatorReader).status == .ok)
            #expect(try await env.post("/webhook-endpoints", #"{"url": "https://h.example.com/", "event_types": ["*"]}"#, key: operatorReader).status == .forbidden)
            let developer = try await env.createKey(role: "developer")
            #expect(try await env.post("/api-keys", #"{"role": "admin"}"#, key: developer).status == .forbidden)
            // An intent's operation needs the roles of its own route: no KYC through the back door.
            let customer = try await env.post("/customers", #"{"name": "K", "email": "k@example.com"}"#, key: developer).id
            let kyc = #"{"intent_id": "kyc-1", "operation": {"type": "kyc_update", "customer": "\#(customer)", "status": "verified"}}"#
            let sneaky = try await env.post("/runtime/intents", kyc, key: developer)
            #expect(sneaky.status == .forbidden, "\(sneaky.text)")
            #expect(try await env.get("/customers/\(customer)").json["kyc_status"] as? String != "verified")
            let operatorKey = try await env.createKey(role: "operator")
            #expect(try await env.post("/runtime/intents", kyc, key: operatorKey).status == .created, "the operator may, under the same intent_id")
            #expect(try await env.get("/customers/\(customer)").json["kyc_status"] as? String == "verified")
            let deposit = #"{"intent_id": "dep-1", "operation": {"type": "deposit", "account": "acct_x", "amount_minor": 1, "transaction_reference": "r"}}"#
            #expect(try await env.post("/runtime/intents", deposit, key: operatorKey).status == .forbidden)
            let refused = try await env.get("/api-keys", key: developer)
            #expect(refused.status == .forbidden)
            #expect(refused.text.contains("needs one of the roles: admin;"), "each role named once: \(refused.text)")
            #expect(try await env.post("/customers", #"{"name": "A", "email": "a@example.com"}"#, key: developer).status == .created)

            let listed = try await env.get("/api-keys").list
            #expect(listed.allSatisfy { $0["api_key"] == nil && $0["key_hash"] == nil }, "secrets are shown once only")
            let developerID = try #require(listed.first { $0["role"] as? String == "developer" }?["id"] as? String)
            let revoked = try await env.request(.delete, "/api-keys/\(developerID)")
            #expect(revoked.status == .ok && revoked.json["revoked_at"] != nil)
            #expect(try await env.get("/customers", key: developer).status == .unauthorized)

            let stored = try await env.store.engine.withReader { try await $0.query("SELECT key_hash FROM api_keys") }
            #expect(try stored.allSatisfy { row in try row.string("key_hash") != developer && row.string("key_hash").count == 64 })
        }
    }

    @Test(arguments: Backend.allCases)
    func badInputGetsAClearErrorNamingTheParameterAndWritesNothing(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let customer = try await env.createCustomer()
            let account = try await env.createAccount(customer: customer)
            let cases: [(path: String, body: String, status: Int, code: String, param: String?)] = [
                ("/customers", #"{"name": "A", "email": "a@example.com""#, 400, "invalid_request", nil),
                ("/customers", "[1, 2]", 400, "invalid_request", nil),
                ("/customers", #"{"email": "a@example.com"}"#, 400, "parameter_missing", "name"),
                ("/customers", #"{"name": 42, "email": "a@example.com"}"#, 400, "parameter_invalid", "name"),
                ("/customers", #"{"name": "A", "email": "not-an-email"}"#, 400, "parameter_invalid", "email"),
                ("/customers", #"{"name": "A", "email": "a@example.com", "kyc_status": "maybe"}"#, 400, "parameter_invalid", "kyc_status"),
                ("/accounts", #"{"customer": "\#(customer)", "currency": "XYZ"}"#, 422, "invalid_currency", "currency"),
                ("/accounts", #"{"customer": "\#(customer)", "currency": "USD", "kind": "savings"}"#, 400, "parameter_invalid", "kind"),
                ("/accounts", #"{"customer": "cus_unknown", "currency": "USD"}"#, 404, "resource_missing", "customer"),
                ("/accounts", #"{"customer": "acct_wrongkind", "currency": "USD"}"#, 404, "resource_missing", "customer"),
                // An id a body names that is not even an id answers as an unknown one, in the
                // use case's order of checks: a card's own fields first, then whom it names.
                ("/cards", #"{"customer": "nope", "account": "nope", "type": "plastic"}"#, 400, "parameter_invalid", "type"),
                ("/cards", #"{"customer": "nope", "account": "\#(account)"}"#, 404, "resource_missing", "customer"),
                ("/disputes", #"{"transaction": "crd_1", "reason": "fraud", "amount_minor": 5}"#, 404, "resource_missing", "transaction"),
                ("/runtime/intents", #"{"intent_id": "i3", "operation": {"type": "kyc_update", "customer": "x y", "status": "verified"}}"#,
                 404, "resource_missing", "customer"),
                ("/accounts/\(account)/deposits", #"{"amount_minor": -5, "transaction_reference": "n"}"#, 400, "parameter_invalid", "amount_minor"),
                ("/accounts/\(account)/deposits", #"{"amount_minor": 0, "transaction_reference": "n"}"#, 400, "parameter_invalid", "amount_minor"),
                ("/accounts/\(account)/deposits", #"{"amount_minor": 99999999999999999999, "transaction_reference": "n"}"#, 400, "parameter_invalid", "amount_minor"),
                ("/accounts/\(account)/deposits", #"{"amount_minor": 12.5, "transaction_reference": "n"}"#, 400, "parameter_invalid", "amount_minor"),
                ("/accounts/\(account)/deposits", #"{"amount_minor": "12", "transaction_reference": "n"}"#, 400, "parameter_invalid", "amount_minor"),
                ("/accounts/\(account)/deposits", #"{"transaction_reference": "n"}"#, 400, "parameter_missing", "amount_minor"),
                ("/accounts/\(account)/deposits", #"{"amount_minor": 5}"#, 400, "parameter_missing", "transaction_reference"),
                ("/accounts/\(account)/deposits", #"{"amount_minor": 5, "transaction_reference": " "}"#, 400, "parameter_invalid", "transaction_reference"),
                ("/accounts/acct_unknown/deposits", #"{"amount_minor": 5, "transaction_reference": "n"}"#, 404, "resource_missing", nil),
                ("/customers", #"{"name": "A", "email": "a@example.com", "idempotency_key": 7}"#, 400, "parameter_invalid", "idempotency_key"),
                ("/runtime/intents", #"{"intent_id": "i1", "money_model": "floats"}"#, 400, "parameter_invalid", "money_model"),
                ("/runtime/intents", #"{"intent_id": "i2", "primitives": ["teleport"]}"#, 400, "parameter_invalid", "primitives"),
                ("/runtime/intents", #"{"scope": "x"}"#, 400, "parameter_missing", "intent_id"),
                ("/api-keys", #"{"role": "superuser"}"#, 400, "parameter_invalid", "role"),
                // Control characters: the same 400 on both engines (a NUL was a 500 on PostgreSQL).
                ("/customers", #"{"name": "A\u0000B", "email": "a@example.com"}"#, 400, "parameter_invalid", "name"),
                ("/customers", #"{"name": "A\u001bB", "email": "a@example.com"}"#, 400, "parameter_invalid", "name"),
                ("/customers", #"{"name": "A", "email": "a@example.com", "metadata": {"k\u0000": "v"}}"#, 400, "parameter_invalid", "metadata"),
            ]
            let before = try await env.footprint()
            for item in cases {
                let reply = try await env.post(item.path, item.body)
                #expect(reply.status.code == item.status, "\(item.path) \(item.body): \(reply.text)")
                #expect(reply.errorCode == item.code, "\(item.path) \(item.body): \(reply.text)")
                #expect(reply.errorParam == item.param, "\(item.path) \(item.body): \(reply.text)")
                #expect((reply.json["error"] as? [String: Any])?["request_id"] as? String == reply.headers[.init("Request-Id")!])
            }
            #expect(try await env.footprint() == before, "a refused request wrote something")

            let wrongType = try await env.client.execute(
                uri: "/customers", method: .post,
                headers: [.authorization: "Bearer \(env.adminKey)", .contentType: "text/plain"],
                body: .init(string: "name=A")) { $0.status }
            #expect(wrongType == .unsupportedMediaType)
            for path in ["/customers?limit=0", "/customers?limit=101", "/customers?limit=ten"] {
                let reply = try await env.get(path)
                #expect(reply.status == .badRequest && reply.errorParam == "limit", "\(path)")
            }
            #expect(try await env.get("/customers?starting_after=cus_nothere").status == .notFound)
            #expect(try await env.get("/no/such/route").errorCode == "resource_missing")
        }
    }
    /// A whole number written with a fraction or an exponent is the integer JSON Schema says it is,
    /// exactly, on the path that reads the body itself (authorizations) and on the one Foundation's
    /// decoder reads (deposits), which alone refuses 9223372036854775807.000.
    @Test(arguments: Backend.allCases)
    func wholeNumbersWrittenWithAFractionAreTheirIntegers(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let account = try await env.createAccount(customer: try await env.createCustomer())
            let scaled = try await env.post("/accounts/\(account)/deposits", #"{"amount_minor": 1.25e3, "transaction_reference": "small"}"#)
            #expect(scaled.status == .created && scaled.json["amount_minor"] as? Int == 1_250, "\(scaled.text)")
            let f = try await AuthorizationFixture.make(env)
            let authorized = try await env.post("/authorizations", #"""
                {"card": "\#(f.card)", "amount_minor": 25e2, "currency": "USD", "channel": "online", "network_reference": "whole",
                 "merchant": {"id": "m_1", "name": "Corner Shop", "mcc": "5411", "country": "US"}}
                """#, key: f.network)
            #expect(authorized.status_ == "approved" && authorized.json["amount_minor"] as? Int == 2_500, "\(authorized.text)")
            // In a tenant of its own: the tenant's funding account takes the whole of it.
            let other = try await env.otherTenantKey()
            let vault = try await env.createAccount(customer: try await env.createCustomer(key: other), key: other)
            let largest = try await env.post("/accounts/\(vault)/deposits", #"{"amount_minor": 9223372036854775807.000, "transaction_reference": "big"}"#, key: other)
            #expect(largest.status == .created && largest.json["amount_minor"] as? Int == Int.max, "\(largest.text)")
        }
    }


    /// Control characters in a path or a query are the same 400 on both engines: PostgreSQL refuses
    /// a NUL in text (it was a 500) where SQLite would look it up.
    @Test(arguments: Backend.allCases)
    func controlCharactersInPathsAndQueriesAreRefused(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let customer = try await env.createCustomer()
            for (path, param) in [
                ("/authorizations?network_reference=ab%00c", "query"), ("/events?type=customer.created%1b", "query"),
                ("/customers?starting_after=cus_%00x", "query"), ("/customers/cus_%00abc", "path"), ("/customers/\(customer)%7F", "path"),
            ] {
                let reply = try await env.get(path)
                #expect(reply.status == .badRequest && reply.errorCode == "parameter_invalid" && reply.errorParam == param, "\(path): \(reply.text)")
            }
            #expect(try await env.get("/customers?email=a%40example.com").status == .ok, "other escapes pass")
        }
    }

    @Test(arguments: Backend.allCases)
    func oversizeBodyIsRefusedWith413(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend, configure: { $0.bodyBytes_max = 1024 }) { env in
            let name = String(repeating: "a", count: 4096)
            let reply = try await env.post("/customers", #"{"name": "\#(name)", "email": "a@example.com"}"#)
            #expect(reply.status == .contentTooLarge)
            #expect(reply.errorCode == "payload_too_large")
            #expect(try await env.get("/customers").list.isEmpty)
        }
    }

    @Test(arguments: Backend.allCases)
    func listsPageNewestFirst(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            var created: [String] = []
            for _ in 0..<5 { created.append(try await env.createCustomer()) }
            let first = try await env.get("/customers?limit=2")
            #expect(first.json["has_more"] as? Bool == true)
            let firstIDs = first.list.map { $0["id"] as! String }
            #expect(firstIDs == [created[4], created[3]])
            let second = try await env.get("/customers?limit=2&starting_after=\(firstIDs[1])").list.map { $0["id"] as! String }
            #expect(second == [created[2], created[1]])
            let last = try await env.get("/customers?limit=2&starting_after=\(second[1])")
            #expect(last.list.map { $0["id"] as! String } == [created[0]])
            #expect(last.json["has_more"] as? Bool == false)
        }
    }
}
