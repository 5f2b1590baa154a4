import Foundation
import Testing
import ZentraApp
import ZentraCore
import ZentraStorage
import ZentraTestSupport

extension AuthorizationFixture {
    func clear(_ amount: Int64, clearingID: String = UUID().uuidString, authorization: String? = nil, reference: String? = nil,
               card: String? = nil, currency: String = "USD") async throws -> TestReply {
        let auth = authorization.map { #""authorization": "\#($0)", "# } ?? ""
        let ref = reference.map { #""network_reference": "\#($0)", "# } ?? ""
        return try await env.post("/clearings", #"""
            {"clearing_id": "\#(clearingID)", \#(auth)\#(ref)"card": "\#(card ?? self.card)", "amount_minor": \#(amount),
             "currency": "\#(currency)", "merchant": {"id": "m_1", "name": "Corner Shop", "mcc": "5411", "country": "US"}}
            """#, key: network)
    }

    /// The balance of the tenant's system ledger account of `kind` (0 when it does not exist yet).
    func systemBalance(_ kind: String) async throws -> Int {
        let accounts = try await env.get("/ledger/accounts?limit=100").list
        return accounts.first { $0["kind"] as? String == kind }?["balance_minor"] as? Int ?? 0
    }

    func ledgerVerified() async throws -> LedgerVerification {
        try await env.store.read(tenant: env.tenant) { try await $0.ledger.verify() }
    }
}

@Suite struct ClearingTests {
    @Test(arguments: Backend.allCases)
    func exactClearingMovesTheHoldToSettlementAndReplaysPostNothing(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let f = try await AuthorizationFixture.make(env, fund: 10_000)
            let auth = try await f.authorize(2_500)
            let cleared = try await f.clear(2_500, clearingID: "clr-net-1", authorization: auth.id)
            #expect(cleared.status == .created, "\(cleared.text)")
            #expect(cleared.id.hasPrefix("clr_") && cleared.status_ == "matched")
            #expect(cleared.json["match_method"] as? String == "authorization")
            #expect(cleared.json["delta_minor"] as? Int == 0 && cleared.json["reconciliation_case"] == nil)
            #expect((cleared.json["transaction"] as? String)?.hasPrefix("txn_") == true)
            #expect(try await f.held() == 0)
            #expect(try await f.available() == 7_500)
            #expect(try await f.systemBalance("settlement") == 2_500)
            let authorization = try await env.get("/authorizations/\(auth.id)").json
            #expect(authorization["status"] as? String == "cleared")
            #expect((authorization["hold"] as? [String: Any])?["status"] as? String == "cleared")

            let footprint = try await env.footprint()
            let replay = try await f.clear(2_500, clearingID: "clr-net-1", authorization: auth.id)
            #expect(replay.status == .ok && replay.body == cleared.body, "a replay answers the first result")
            #expect(try await env.footprint() == footprint, "and posts nothing")
            let reused = try await f.clear(2_600, clearingID: "clr-net-1", authorization: auth.id)
            #expect(reused.status == .unprocessableContent && reused.errorCode == "clearing_id_reused")

            let transaction = try await env.get("/transactions/\(cleared.json["transaction"] as! String)")
            #expect(transaction.status == .ok, "\(transaction.text)")
            #expect(transaction.json["amount_minor"] as? Int == 2_500)
            #expect((transaction.json["clearings"] as? [[String: Any]])?.count == 1)
            #expect((transaction.json["journal_entries"] as? [[String: Any]])?.count == 2, "the hold and the clearing")
            #expect(try await env.get("/transactions").list.count == 1)
            #expect(try await env.get("/events?type=clearing.matched").list.count == 1)
            #expect(try await f.ledgerVerified().ok)
        }
    }

    @Test(arguments: Backend.allCases)
    func partialClearingReleasesTheRestAndOpensACaseAnOperatorWorks(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let f = try await AuthorizationFixture.make(env, fund: 10_000)
            let auth = try await f.authorize(5_000, reference: "ref-partial")
            let cleared = try await f.clear(4_000, reference: "ref-partial")
            #expect(cleared.status_ == "mismatched" && cleared.json["match_method"] as? String == "network_reference", "\(cleared.text)")
            #expect(cleared.json["delta_minor"] as? Int == -1_000 && cleared.json["authorized_minor"] as? Int == 5_000)
            #expect(try await f.available() == 6_000, "the unused 1,000 of the hold went back to the card")
            #expect(try await f.held() == 0)
            #expect(try await f.systemBalance("settlement") == 4_000)
            let spend = try #require(try await f.cardState()["spend"] as? [String: Any])
            #expect((spend["daily"] as? [String: Any])?["used_minor"] as? Int == 4_000, "the released part no longer counts as spent")

            let caseID = try #require(cleared.json["reconciliation_case"] as? String)
            let opened = try await env.get("/reconciliation-cases/\(caseID)").json
            #expect(opened["status"] as? String == "open" && opened["kind"] as? String == "amount_mismatch")
            #expect(opened.keys.contains("owner") && opened["owner"] is NSNull, "an unassigned case shows owner: null")
            #expect(opened["authorization"] as? String == auth.id && opened["clearing"] as? String == cleared.id)
            #expect(opened["delta_minor"] as? Int == -1_000 && (opened["ledger_entries"] as? [String])?.count == 2)
            #expect(try await env.get("/reconciliation-cases?status=open").list.count == 1)

            let developer = try await env.createKey(role: "developer")
            #expect(try await env.post("/reconciliation-cases/\(caseID)/assign", #"{"owner": "ops@acme"}"#, key: developer).status == .forbidden)
            let assigned = try await env.post("/reconciliation-cases/\(caseID)/assign", #"{"owner": "ops@acme"}"#, key: f.operatorKey)
            #expect(assigned.status == .ok && assigned.status_ == "assigned" && assigned.json["owner"] as? String == "ops@acme", "\(assigned.text)")
            let bad = try await env.post("/reconciliation-cases/\(caseID)/resolve", #"{"resolution": "shrug"}"#, key: f.operatorKey)
            #expect(bad.status == .badRequest && bad.errorParam == "resolution")
            let resolved = try await env.post("/reconciliation-cases/\(caseID)/resolve", #"{"resolution": "accepted", "note": "tip"}"#,
                                              key: f.operatorKey)
            #expect(resolved.status_ == "resolved" && resolved.json["resolution"] as? String == "accepted" && resolved.json["note"] as? String == "tip")
            #expect(try await env.post("/reconciliation-cases/\(caseID)/resolve", #"{"resolution": "accepted"}"#, key: f.operatorKey).status == .conflict)
            #expect(try await env.get("/reconciliation-cases?status=resolved").list.count == 1)

            let evidence = try await env.get("/reconciliation-cases/\(caseID)/evidence").json
            #expect((evidence["authorization"] as? [String: Any])?["id"] as? String == auth.id)
            #expect((evidence["clearing"] as? [String: Any])?["id"] as? String == cleared.id)
            #expect(evidence["delta_minor"] as? Int == -1_000 && evidence["owner"] as? String == "ops@acme")
            #expect((evidence["journal_entries"] as? [[String: Any]])?.count == 2)
            let types = (evidence["events"] as? [[String: Any]])?.compactMap { $0["type"] as? String } ?? []
            #expect(["authorization.approved", "clearing.mismatched", "reconciliation.opened", "reconciliation.assigned", "reconciliation.resolved"]
                .allSatisfy(types.contains), "\(types)")
            #expect(try await env.get("/clearings/\(cleared.id)/evidence").status == .ok)
            #expect(try await f.ledgerVerified().ok)
        }
    }

    @Test(arguments: Backend.allCases)
    func overClearingTakesTheExtraFromFundsAndThenFromTheCardholder(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let f = try await AuthorizationFixture.make(env, fund: 10_000)
            let auth = try await f.authorize(5_000)
            // No id and no reference: the card's hold closest in amount, within 20%.
            let over = try await f.clear(5_900)
            #expect(over.status_ == "mismatched" && over.json["match_method"] as? String == "card_amount", "\(over.text)")
            #expect(over.json["authorization"] as? String == auth.id && over.json["delta_minor"] as? Int == 900)
            #expect(try await f.available() == 4_100)

            let small = try await AuthorizationFixture.make(env, fund: 1_000)
            let smallAuth = try await small.authorize(1_000)
            let beyond = try await small.clear(1_150, authorization: smallAuth.id)
            let plan = try #require(beyond.json["plan"] as? [String: Any])
            #expect(plan["from_hold_minor"] as? Int == 1_000 && plan["from_funds_minor"] as? Int == 0 && plan["shortfall_minor"] as? Int == 150)
            #expect(try await small.available() == 0)
            #expect(try await f.systemBalance("cardholder_receivable") == 150, "what the card could not cover is owed by the cardholder")
            #expect(try await f.systemBalance("settlement") == 5_900 + 1_150)
            #expect(try await f.ledgerVerified().ok)
        }
    }

    @Test(arguments: Backend.allCases)
    func unmatchedRecordIsForcePostedWithACase(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let f = try await AuthorizationFixture.make(env, fund: 10_000)
            _ = try await f.authorize(1_000)
            let forced = try await f.clear(3_000, reference: "never-authorized")
            #expect(forced.status == .created && forced.status_ == "unmatched", "\(forced.text)")
            #expect(forced.json["authorization"] == nil && forced.json["delta_minor"] as? Int == 3_000)
            #expect(try await f.available() == 6_000, "posted from the card's funds")
            #expect(try await f.held() == 1_000, "the unrelated hold stays")
            let caseID = try #require(forced.json["reconciliation_case"] as? String)
            #expect(try await env.get("/reconciliation-cases/\(caseID)").json["kind"] as? String == "unmatched")
            #expect(try await env.get("/events?type=clearing.unmatched").list.count == 1)

            // Bad records change nothing.
            let other = try await AuthorizationFixture.make(env, fund: 1_000)
            let otherAuth = try await other.authorize(500)
            let footprint = try await env.footprint()
            #expect(try await f.clear(100, currency: "EUR").status == .unprocessableContent)
            #expect(try await f.clear(100, authorization: "auth_missing").status == .notFound)
            #expect(try await f.clear(-5).status == .badRequest)
            #expect(try await f.clear(100, card: "card_missing").status == .notFound)
            #expect(try await f.clear(500, authorization: otherAuth.id).errorParam == "authorization")
            #expect(try await env.post("/clearings", "{}", key: f.operatorKey).status == .forbidden)
            #expect(try await env.footprint() == footprint)
            #expect(try await f.ledgerVerified().ok)
        }
    }
}
