import Foundation
import Testing
import ZentraCore
import ZentraTestSupport

extension AuthorizationFixture {
    /// An approved authorization of `amount`, cleared exactly: answers its transaction id.
    func purchase(_ amount: Int64) async throws -> String {
        let auth = try await authorize(amount)
        let cleared = try await clear(amount, authorization: auth.id)
        #expect(cleared.status_ == "matched", "\(cleared.text)")
        return cleared.json["transaction"] as! String
    }

    func openDispute(_ transaction: String, _ amount: Int64, provisional: Bool, key: String? = nil) async throws -> TestReply {
        try await env.post("/disputes", #"""
            {"transaction": "\#(transaction)", "reason": "not_received", "amount_minor": \#(amount), "provisional_credit": \#(provisional),
             "evidence": {"explanation": "never arrived"}}
            """#, key: key)
    }
}

@Suite struct SettlementTests {
    @Test(arguments: Backend.allCases)
    func settlementMovesWhatWasClearedToTheMerchantSideOncePerBatch(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let f = try await AuthorizationFixture.make(env, fund: 50_000)
            _ = try await f.purchase(1_000)
            _ = try await f.purchase(2_500)
            let pending = try await f.authorize(4_000)
            #expect(try await env.post("/settlements", #"{"currency": "EUR"}"#, key: f.network).errorCode == "nothing_to_settle")

            let batch = try await env.post("/settlements", #"{"currency": "USD"}"#, key: f.network, headers: ["Idempotency-Key": "stl-1"])
            #expect(batch.status == .created, "\(batch.text)")
            #expect(batch.json["net_minor"] as? Int == 3_500 && batch.json["clearing_count"] as? Int == 2)
            #expect((batch.json["payout"] as? [String: Any])?["status"] as? String == "closed")
            #expect(try await f.systemBalance("settlement") == 0)
            #expect(try await f.systemBalance("merchant") == 3_500)
            let replay = try await env.post("/settlements", #"{"currency": "USD"}"#, key: f.network, headers: ["Idempotency-Key": "stl-1"])
            #expect(replay.body == batch.body && replay.headers[.init("Idempotent-Replayed")!] == "true")
            #expect(try await env.post("/settlements", #"{"currency": "USD"}"#, key: f.network).errorCode == "nothing_to_settle",
                    "everything cleared is in a batch already")

            let detail = try await env.get("/settlements/\(batch.id)")
            #expect((detail.json["clearings"] as? [[String: Any]])?.compactMap { $0["amount_minor"] as? Int }.sorted() == [1_000, 2_500])
            #expect((detail.json["clearings"] as? [[String: Any]])?.allSatisfy { $0["settlement"] as? String == batch.id } == true)

            _ = try await f.clear(4_000, authorization: pending.id)
            let second = try await env.post("/settlements", #"{"currency": "USD"}"#, key: f.operatorKey)
            #expect(second.json["net_minor"] as? Int == 4_000 && second.json["clearing_count"] as? Int == 1)
            #expect(try await env.get("/settlements").list.count == 2)
            #expect(try await f.systemBalance("merchant") == 7_500)
            #expect(try await f.ledgerVerified().ok)
        }
    }
}

@Suite struct DisputeTests {
    @Test(arguments: Backend.allCases)
    func everyDisputePathWithAndWithoutProvisionalCredit(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let f = try await AuthorizationFixture.make(env, fund: 10_000)
            let developer = try await env.createKey(role: "developer")
            let transaction = try await f.purchase(5_000)
            #expect(try await f.available() == 5_000)
            func step(_ id: String, _ action: String, _ json: String = "{}", key: String? = nil) async throws -> TestReply {
                try await env.post("/disputes/\(id)/\(action)", json, key: key ?? developer)
            }

            // Won, with a provisional credit: the credit stays; the claim is settled by the chargeback.
            let won = try await f.openDispute(transaction, 1_000, provisional: true, key: developer)
            #expect(won.status == .created && won.status_ == "opened" && won.id.hasPrefix("dsp_"), "\(won.text)")
            #expect(try await f.available() == 6_000)
            #expect(try await f.systemBalance("dispute_receivable") == 1_000)
            #expect(try await step(won.id, "resolve", #"{"outcome": "won"}"#).status == .forbidden, "the outcome is the operator's")
            #expect(try await step(won.id, "resolve", #"{"outcome": "won"}"#, key: f.operatorKey).errorCode == "dispute_invalid_state",
                    "only a submitted dispute gets an outcome")
            #expect(try await step(won.id, "submit", #"{"evidence": {"tracking": "none"}}"#).status_ == "submitted")
            let wonReply = try await step(won.id, "resolve", #"{"outcome": "won", "note": "chargeback accepted"}"#, key: f.operatorKey)
            #expect(wonReply.status_ == "won" && (wonReply.json["journal_entries"] as? [String])?.count == 2, "\(wonReply.text)")
            #expect(try await f.available() == 6_000)
            #expect(try await f.systemBalance("dispute_receivable") == 0)
            #expect(try await f.systemBalance("settlement") == 5_000 - 1_000)

            // Lost, with a provisional credit: the credit is taken back.
            let lost = try await f.openDispute(transaction, 1_500, provisional: true, key: developer)
            #expect(try await f.available() == 7_500)
            _ = try await step(lost.id, "submit")
            #expect(try await step(lost.id, "resolve", #"{"outcome": "lost"}"#, key: f.operatorKey).status_ == "lost")
            #expect(try await f.available() == 6_000)

            // More than what is left to dispute is refused; withdrawn frees its amount.
            #expect(try await f.openDispute(transaction, 2_600, provisional: false, key: developer).errorParam == "amount_minor")
            let withdrawn = try await f.openDispute(transaction, 2_500, provisional: true, key: developer)
            #expect(try await f.available() == 8_500)
            #expect(try await step(withdrawn.id, "withdraw", #"{"note": "found it"}"#).status_ == "withdrawn")
            #expect(try await f.available() == 6_000)
            #expect(try await step(withdrawn.id, "submit").status == .conflict)

            // Won and lost without a provisional credit: the cardholder is credited only when won.
            let plainWon = try await f.openDispute(transaction, 1_000, provisional: false, key: developer)
            let plainLost = try await f.openDispute(transaction, 1_500, provisional: false, key: developer)
            #expect(try await f.available() == 6_000)
            _ = try await step(plainWon.id, "submit")
            _ = try await step(plainLost.id, "submit")
            #expect(try await step(plainWon.id, "resolve", #"{"outcome": "won"}"#, key: f.operatorKey).status_ == "won")
            #expect(try await step(plainLost.id, "resolve", #"{"outcome": "lost"}"#, key: f.operatorKey).status_ == "lost")
            #expect(try await f.available() == 7_000)
            #expect(try await f.openDispute(transaction, 1, provisional: false, key: developer).status == .badRequest, "all 5,000 disputed")

            let detail = try await env.get("/transactions/\(transaction)").json
            #expect(detail["disputed_minor"] as? Int == 5_000 && (detail["disputes"] as? [[String: Any]])?.count == 5)
            let evidence = try await env.get("/disputes/\(won.id)/evidence").json
            #expect((evidence["dispute"] as? [String: Any])?["evidence"] as? [String: String] == ["tracking": "none"])
            #expect((evidence["journal_entries"] as? [[String: Any]])?.count == 2)
            let types = (evidence["events"] as? [[String: Any]])?.compactMap { $0["type"] as? String }
            #expect(types == ["dispute.opened", "dispute.submitted", "dispute.won"])
            #expect(try await env.get("/events?type=dispute.lost").list.count == 2)

            // A settlement nets the chargebacks won against what was cleared.
            let batch = try await env.post("/settlements", #"{"currency": "USD"}"#, key: f.network)
            #expect(batch.json["clearings_minor"] as? Int == 5_000 && batch.json["chargebacks_minor"] as? Int == 2_000)
            #expect(batch.json["net_minor"] as? Int == 3_000 && batch.json["dispute_count"] as? Int == 2, "\(batch.text)")
            #expect(try await f.systemBalance("settlement") == 0)
            #expect(try await f.ledgerVerified().ok)
        }
    }

    @Test(arguments: Backend.allCases)
    func losingAProvisionalCreditTheCardAlreadySpentLeavesTheCardholderOwing(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let f = try await AuthorizationFixture.make(env, fund: 1_000)
            let transaction = try await f.purchase(1_000)
            let dispute = try await f.openDispute(transaction, 800, provisional: true)
            _ = try await f.purchase(600)
            #expect(try await f.available() == 200)
            _ = try await env.post("/disputes/\(dispute.id)/submit")
            #expect(try await env.post("/disputes/\(dispute.id)/resolve", #"{"outcome": "lost"}"#, key: f.operatorKey).status_ == "lost")
            #expect(try await f.available() == 0)
            #expect(try await f.systemBalance("cardholder_receivable") == 600)
            #expect(try await env.post("/disputes", #"{"transaction": "txn_nope", "reason": "other", "amount_minor": 1}"#).status == .notFound)
            #expect(try await env.post("/disputes", #"{"transaction": "\#(transaction)", "reason": "meh", "amount_minor": 1}"#).errorParam == "reason")
            #expect(try await f.ledgerVerified().ok)
        }
    }
}
