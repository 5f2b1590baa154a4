import Foundation
import Testing
import ZentraCore
import ZentraStorage

/// A verified customer with a USD wallet and a program: the ground every card test stands on.
struct CardFixture {
    let env: TestEnvironment
    let customer: String
    let account: String
    let program: String

    static func make(_ env: TestEnvironment, maxCards: Int = 5, sensitive: Bool = false) async throws -> CardFixture {
        let customer = try await env.createCustomer()
        let account = try await env.createAccount(customer: customer)
        let program = try await env.post("/card-programs", #"""
            {"name": "Standard", "currency": "USD", "bin": "42424242", "max_cards_per_customer": \#(maxCards),
             "sensitive_details_enabled": \#(sensitive), "spend_controls": {"daily_minor": 100000, "blocked_mccs": ["gambling"]}}
            """#)
        #expect(program.status == .created, "\(program.text)")
        return CardFixture(env: env, customer: customer, account: account, program: program.id)
    }

    func issue(_ extra: String = "", type: String = "virtual", customer: String? = nil, account: String? = nil,
               key: String? = nil, idempotencyKey: String? = nil) async throws -> TestReply {
        try await env.post("/cards", #"""
            {"customer": "\#(customer ?? self.customer)", "account": "\#(account ?? self.account)", "program": "\#(program)",
             "type": "\#(type)"\#(extra)}
            """#, key: key, headers: idempotencyKey.map { ["Idempotency-Key": $0] } ?? [:])
    }
}

@Suite struct CardTests {
    /// The shortest issuance, as `docs/sdk.md` calls it: customer, account, spend limit and
    /// idempotency key; no type, no program.
    @Test(arguments: Backend.allCases)
    func theSeedsCallIssuesAVirtualCardUnderTheTenantsOnlyProgram(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let fixture = try await CardFixture.make(env)
            let body = #"{"customer": "\#(fixture.customer)", "account": "\#(fixture.account)", "spend_limit_minor": 250000, "idempotency_key": "card_live_042"}"#
            let card = try await env.post("/cards", body)
            #expect(card.status == .created, "\(card.text)")
            #expect(card.json["type"] as? String == "virtual" && card.json["program"] as? String == fixture.program)
            #expect((card.json["spend_controls"] as? [String: Any])?["monthly_minor"] as? Int == 250_000)
            let again = try await env.post("/cards", body)
            #expect(again.body == card.body && again.headers[.init("Idempotent-Replayed")!] == "true")

            let other = try await env.post("/card-programs", #"{"name": "Other", "currency": "USD", "bin": "42424243"}"#)
            #expect(other.status == .created, "\(other.text)")
            let refused = try await env.post("/cards", body.replacingOccurrences(of: "card_live_042", with: "card_live_043"))
            #expect(refused.status == .badRequest && refused.errorCode == "parameter_missing" && refused.errorParam == "program")
            #expect(refused.text.contains("several card programs"), "\(refused.text)")
        }
    }

    @Test(arguments: Backend.allCases)
    func issuedCardShowsLast4AndMergedControlsButNeverThePAN(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend, clock: TestClock("2026-11-23T12:00:00Z")) { env in
            let fixture = try await CardFixture.make(env)
            let card = try await fixture.issue(#", "spend_limit_minor": 250000, "spend_controls": {"per_transaction_minor": 5000}"#)
            #expect(card.status == .created, "\(card.text)")
            #expect(card.id.hasPrefix("card_"))
            #expect(card.json["status"] as? String == "active")
            #expect((card.json["last4"] as? String)?.count == 4)
            #expect(card.json["currency"] as? String == "USD")
            #expect(card.json["pan"] == nil && card.json["cvv"] == nil && card.json["number"] == nil)
            let controls = try #require(card.json["spend_controls"] as? [String: Any])
            #expect(controls["monthly_minor"] as? Int == 250_000, "spend_limit_minor is shorthand for a monthly limit")
            #expect(controls["per_transaction_minor"] as? Int == 5_000)
            #expect(controls["daily_minor"] as? Int == 100_000, "program defaults fill what the card leaves out")
            #expect(controls["blocked_mccs"] as? [String] == ["gambling"])
            #expect(card.json["exp_year"] as? Int == 2026 + 3, "valid for three years from issue")
            var fetched = try await env.get("/cards/\(card.id)").json
            let spend = try #require(fetched.removeValue(forKey: "spend") as? [String: Any], "GET adds spend per window")
            #expect((spend["monthly"] as? [String: Any])?["remaining_minor"] as? Int == 250_000)
            #expect(NSDictionary(dictionary: fetched) == NSDictionary(dictionary: card.json))
            #expect(try await env.get("/events?type=card.issued").list.count == 1)

            // The stored PAN is Luhn-valid under the BIN, sealed at rest, and ends in last4.
            let sealed = try #require(try await env.store.read(tenant: env.tenant) { try await $0.cards.sealedData(CardID(unchecked: card.id)) })
            let vault = CardVaultProbe(env: env)
            let secret = try vault.open(sealed)
            #expect(secret.pan.hasPrefix("42424242") && secret.pan.count == 16 && PAN.isValid(secret.pan))
            #expect(secret.pan.hasSuffix(card.json["last4"] as! String))
            #expect(secret.cvv.count == 3)
            #expect(!String(decoding: sealed, as: UTF8.self).contains(secret.pan))
        }
    }

    @Test(arguments: Backend.allCases)
    func issuanceChecksRunInTheDocumentedOrder(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let fixture = try await CardFixture.make(env, maxCards: 1)
            let pending = try await env.createCustomer(kyc: "pending")
            let pendingAccount = try await env.createAccount(customer: pending)
            let otherCustomer = try await env.createCustomer()
            let otherAccount = try await env.createAccount(customer: otherCustomer)
            let euroAccount = try await env.createAccount(customer: fixture.customer, currency: "EUR")

            let missingCustomer = try await fixture.issue(customer: "cus_missing")
            #expect(missingCustomer.status == .notFound && missingCustomer.errorParam == "customer")
            let kyc = try await fixture.issue(customer: pending, account: pendingAccount)
            #expect(kyc.status == .unprocessableContent && kyc.errorCode == "kyc_required" && kyc.errorParam == "customer")
            let missingAccount = try await fixture.issue(account: "acct_missing")
            #expect(missingAccount.status == .notFound && missingAccount.errorParam == "account")
            let foreign = try await fixture.issue(account: otherAccount)
            #expect(foreign.status == .badRequest && foreign.errorParam == "account")
            let currency = try await fixture.issue(account: euroAccount)
            #expect(currency.status == .unprocessableContent && currency.errorCode == "invalid_currency" && currency.errorParam == "account")
            #expect(try await fixture.issue().status == .created)
            let capped = try await fixture.issue()
            #expect(capped.status == .unprocessableContent && capped.errorCode == "card_limit_reached" && capped.errorParam == "customer")

            let physicalWithoutAddress = try await fixture.issue(type: "physical")
            #expect(physicalWithoutAddress.status == .badRequest && physicalWithoutAddress.errorParam == "shipping")
            let badType = try await fixture.issue(type: "metal")
            #expect(badType.status == .badRequest && badType.errorParam == "type")
            let badControls = try await fixture.issue(#", "spend_controls": {"allowed_channels": ["carrier_pigeon"]}"#)
            #expect(badControls.errorParam == "spend_controls.allowed_channels")
            #expect(try await env.get("/cards").list.count == 1)
        }
    }

    @Test(arguments: Backend.allCases)
    func cardCapIsExactUnderConcurrency(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let fixture = try await CardFixture.make(env, maxCards: 5)
            let replies = try await withThrowingTaskGroup(of: TestReply.self) { group in
                for _ in 0..<10 { group.addTask { try await fixture.issue() } }
                return try await group.reduce(into: [TestReply]()) { $0.append($1) }
            }
            #expect(replies.filter { $0.status == .created }.count == 5, "\(replies.map(\.text))")
            #expect(replies.filter { $0.errorCode == "card_limit_reached" }.count == 5)
            #expect(try await env.get("/cards?customer=\(fixture.customer)").list.count == 5)
        }
    }

    @Test(arguments: Backend.allCases)
    func physicalCardsCarryShippingAndFulfilment(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let fixture = try await CardFixture.make(env)
            let card = try await fixture.issue(#", "shipping": {"name": "Ada Lovelace", "line1": "1 Analytical St", "city": "London", "postal_code": "N1 9GU", "country": "gb"}"#, type: "physical")
            #expect(card.status == .created, "\(card.text)")
            #expect(card.json["fulfillment_status"] as? String == "pending")
            #expect((card.json["shipping"] as? [String: Any])?["country"] as? String == "GB")
            let badCountry = try await fixture.issue(#", "shipping": {"name": "A", "line1": "1", "city": "X", "postal_code": "1", "country": "ZZ"}"#, type: "physical")
            #expect(badCountry.errorParam == "shipping.country")
            let virtualShipped = try await fixture.issue(#", "shipping": {"name": "A", "line1": "1", "city": "X", "postal_code": "1", "country": "GB"}"#)
            #expect(virtualShipped.errorParam == "shipping")
        }
    }

    @Test(arguments: Backend.allCases)
    func issuanceIsIdempotentAndListsFilter(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let fixture = try await CardFixture.make(env)
            let first = try await fixture.issue(idempotencyKey: "card_live_042")
            let again = try await fixture.issue(idempotencyKey: "card_live_042")
            #expect(again.body == first.body && again.headers[.init("Idempotent-Replayed")!] == "true")
            _ = try await fixture.issue()
            #expect(try await env.get("/cards?customer=\(fixture.customer)&status=active").list.count == 2)
            #expect(try await env.get("/cards?status=locked").list.isEmpty)
            #expect(try await env.get("/cards?status=frozen").errorParam == "status")
            let other = try await env.otherTenantKey()
            #expect(try await env.get("/cards/\(first.id)", key: other).status == .notFound)
            #expect(try await env.get("/cards", key: other).list.isEmpty)
        }
    }

    @Test(arguments: Backend.allCases)
    func sensitiveDetailsOnlyForEnabledProgramsAndAdminKeysAndAudited(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let closed = try await CardFixture.make(env)
            let hidden = try await closed.issue()
            let refused = try await env.get("/cards/\(hidden.id)/sensitive")
            #expect(refused.status == .forbidden && refused.errorCode == "sensitive_details_unavailable")

            let open = try await CardFixture.make(env, sensitive: true)
            let card = try await open.issue()
            let developer = try await env.createKey(role: "developer")
            #expect(try await env.get("/cards/\(card.id)/sensitive", key: developer).errorCode == "sensitive_details_unavailable")
            let details = try await env.get("/cards/\(card.id)/sensitive")
            #expect(details.status == .ok)
            let pan = try #require(details.json["pan"] as? String)
            #expect(PAN.isValid(pan) && pan.hasSuffix(card.json["last4"] as! String))
            #expect((details.json["cvv"] as? String)?.count == 3)
            let reads = try await env.get("/audit-log?limit=100").list.filter { $0["action"] as? String == "card.sensitive_details_read" }
            #expect(reads.count == 1)
            #expect(try await env.get("/cards/\(card.id)/sensitive", key: try await env.otherTenantKey()).status == .notFound)

            // No PAN or CVV anywhere but that one answer: not in events, audit, cards or intents.
            let cvv = try #require(details.json["cvv"] as? String)
            for path in ["/events?limit=100", "/audit-log?limit=100", "/cards", "/cards/\(card.id)", "/runtime/intents?limit=100"] {
                let text = try await env.get(path).text
                #expect(!text.contains(pan), "PAN leaked in \(path)")
                #expect(!text.contains(#""cvv":"\#(cvv)""#), "CVV leaked in \(path)")
            }
        }
    }
}

/// Opens sealed card data with the key of the application under test.
struct CardVaultProbe {
    let env: TestEnvironment

    func open(_ sealed: [UInt8]) throws -> (pan: String, cvv: String) {
        try CardVault(key: env.services.configuration.cardDataKey).open(sealed, tenant: env.tenant)
    }
}

import ZentraApp
import ZentraTestSupport

@Suite struct CardFundingTests {
    @Test(arguments: Backend.allCases)
    func fundingMovesWalletMoneyToTheCardThroughTheLedger(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let fixture = try await CardFixture.make(env)
            _ = try await env.deposit(fixture.account, 10_000, reference: "dep")
            let card = try await fixture.issue().id
            let funded = try await env.post("/cards/\(card)/fund", #"{"amount_minor": 2500, "source": "wallet", "transaction_reference": "fund-1"}"#)
            #expect(funded.status == .created, "\(funded.text)")
            #expect(funded.json["warnings"] == nil && funded.headers[.init("Deprecation")!] == nil)
            #expect(try await env.get("/cards/\(card)").json["available_minor"] as? Int == 2_500)
            #expect(try await env.get("/accounts/\(fixture.account)").json["available_minor"] as? Int == 7_500)
            let entry = try await env.get("/ledger/journal-entries/\(funded.json["journal_entry"] as! String)")
            #expect((entry.json["entries"] as? [[String: Any]])?.count == 2)
            #expect(try await env.get("/events?type=card.funded").list.count == 1)

            let again = try await env.post("/cards/\(card)/fund", #"{"amount_minor": 2500, "transaction_reference": "fund-1"}"#)
            #expect(again.status == .ok && again.id == funded.id)
            let conflict = try await env.post("/cards/\(card)/fund", #"{"amount_minor": 2400, "transaction_reference": "fund-1"}"#)
            #expect(conflict.status == .conflict && conflict.errorCode == "transaction_reference_conflict")
            #expect(try await env.get("/cards/\(card)").json["available_minor"] as? Int == 2_500)
        }
    }

    @Test(arguments: Backend.allCases)
    func shortWalletAnswers402AndChangesNothing(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let fixture = try await CardFixture.make(env)
            _ = try await env.deposit(fixture.account, 1_000, reference: "dep")
            let card = try await fixture.issue().id
            let before = try await env.footprint()
            let short = try await env.post("/cards/\(card)/fund", #"{"amount_minor": 1001, "transaction_reference": "too-much"}"#)
            #expect(short.status.code == 402 && short.errorCode == "insufficient_funds" && short.errorParam == "amount_minor", "\(short.text)")
            #expect(try await env.footprint() == before)
            let bad = try await env.post("/cards/\(card)/fund", #"{"amount_minor": 10, "source": "bank", "transaction_reference": "x"}"#)
            #expect(bad.errorParam == "source")
            let missing = try await env.post("/cards/\(card)/fund", #"{"amount_minor": 10}"#)
            #expect(missing.errorCode == "parameter_missing" && missing.errorParam == "transaction_reference")
        }
    }

    @Test(arguments: Backend.allCases)
    func twentyRacingFundingsNeverOverdrawTheWallet(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let fixture = try await CardFixture.make(env)
            _ = try await env.deposit(fixture.account, 1_000, reference: "dep")
            let cardA = try await fixture.issue().id
            let cardB = try await fixture.issue().id
            let replies = try await withThrowingTaskGroup(of: TestReply.self) { group in
                for index in 0..<20 {
                    group.addTask {
                        // A 503 (no connection free in time on a loaded machine) changed nothing: the
                        // client sends the same funding again, as `docs/conventions.md` says it may.
                        var reply: TestReply
                        repeat {
                            reply = try await env.post("/cards/\(index % 2 == 0 ? cardA : cardB)/fund",
                                                       #"{"amount_minor": 100, "transaction_reference": "race-\#(index)"}"#)
                        } while reply.status == .serviceUnavailable
                        return reply
                    }
                }
                return try await group.reduce(into: [TestReply]()) { $0.append($1) }
            }
            #expect(replies.filter { $0.status == .created }.count == 10, "\(replies.map(\.text))")
            #expect(replies.filter { $0.errorCode == "insufficient_funds" }.count == 10,
                    "\(replies.filter { $0.status != .created && $0.errorCode != "insufficient_funds" }.map(\.text))")
            #expect(try await env.get("/accounts/\(fixture.account)").json["available_minor"] as? Int == 0)
            let a = try await env.get("/cards/\(cardA)").json["available_minor"] as? Int ?? -1
            let b = try await env.get("/cards/\(cardB)").json["available_minor"] as? Int ?? -1
            #expect(a + b == 1_000)
        }
    }

    @Test(arguments: Backend.allCases)
    func legacyReferenceFieldStillWorksWithADeprecationWarning(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let fixture = try await CardFixture.make(env)
            _ = try await env.deposit(fixture.account, 1_000, reference: "dep")
            let card = try await fixture.issue().id
            let legacy = try await env.post("/cards/\(card)/fund", #"{"amount_minor": 300, "reference": "old-sdk-1"}"#)
            #expect(legacy.status == .created, "\(legacy.text)")
            #expect(legacy.headers[.init("Deprecation")!] == "@1793491200", "RFC 9745: @ and the Unix time")
            #expect(legacy.headers[.init("Link")!]?.contains("</cards/\(card)/fund>; rel=\"successor-version\"") == true)
            #expect((legacy.json["warnings"] as? [String])?.first?.contains("transaction_reference") == true)
            #expect(legacy.json["transaction_reference"] as? String == "old-sdk-1")
            let mixed = try await env.post("/cards/\(card)/fund", #"{"amount_minor": 300, "reference": "a", "transaction_reference": "b"}"#)
            #expect(mixed.status == .badRequest && mixed.errorParam == "reference")
            let closed = try await env.post("/operator/cards/\(card)/close")
            #expect(closed.json["status"] as? String == "closed")
            let afterClose = try await env.post("/cards/\(card)/fund", #"{"amount_minor": 1, "transaction_reference": "late"}"#)
            #expect(afterClose.errorCode == "card_closed")
        }
    }

    /// The deprecated names answer as their successors do, and say so in RFC 9745's form; the
    /// successors say nothing of it; each change is its event; there is no terminate.
    @Test(arguments: Backend.allCases)
    func deprecatedNamesWorkAndPointAtTheirSuccessors(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let fixture = try await CardFixture.make(env)
            let card = try await fixture.issue().id
            let steps: [(path: String, body: String?, successor: String?, status: String, event: String)] = [
                ("freeze", nil, "lock", "locked", "card.locked"),
                ("unfreeze", nil, "unlock", "active", "card.unlocked"),
                ("lock", nil, nil, "locked", "card.locked"),
                ("unlock", nil, nil, "active", "card.unlocked"),
                ("limits", #"{"spend_controls": {"daily_minor": 700}}"#, "security", "active", "card.security_updated"),
                ("security", #"{"blocked_mccs": ["7995"]}"#, nil, "active", "card.security_updated"),
            ]
            for (index, step) in steps.enumerated() {
                let reply = try await env.post("/cards/\(card)/\(step.path)", step.body ?? "{}")
                #expect(reply.status == .ok && reply.json["status"] as? String == step.status, "\(step.path): \(reply.text)")
                let deprecation = reply.headers[.init("Deprecation")!]
                let link = reply.headers[.init("Link")!]
                if let successor = step.successor {
                    #expect(deprecation == "@1793491200", "\(step.path)")
                    #expect(link?.contains("</cards/\(card)/\(successor)>; rel=\"successor-version\"") == true, "\(step.path): \(link ?? "")")
                } else {
                    #expect(deprecation == nil && link == nil, "\(step.path) is not deprecated")
                }
                let events = try await env.get("/events?limit=100").list.filter { ($0["type"] as? String)?.hasPrefix("card.") == true }
                #expect(events.first?["type"] as? String == step.event, "\(step.path) emits \(step.event)")
                #expect(events.count == index + 2, "one event per change, after card.issued")
            }
            let controls = try #require(try await env.get("/cards/\(card)").json["spend_controls"] as? [String: Any])
            #expect(controls["daily_minor"] as? Int == 700 && controls["blocked_mccs"] as? [String] == ["7995"])

            let terminate = try await env.post("/cards/\(card)/terminate")
            #expect(terminate.status == .notFound && terminate.text.contains("/operator/cards/{id}/close"), "\(terminate.text)")
        }
    }
}
