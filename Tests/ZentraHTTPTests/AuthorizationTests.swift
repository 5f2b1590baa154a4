import Foundation
import Testing
import ZentraApp
import ZentraCore
import ZentraStorage
import ZentraTestSupport

/// A funded card under a program of the test's choosing, and the keys of the network and the operator.
struct AuthorizationFixture {
    let env: TestEnvironment
    let card: String
    let account: String
    let network: String
    let operatorKey: String
    /// The program's webhook signing secret, answered once at its creation.
    let programSecret: String?

    static func make(
        _ env: TestEnvironment, program: String = "", card: String = "", type: String = "virtual", fund: Int64 = 100_000
    ) async throws -> AuthorizationFixture {
        let customer = try await env.createCustomer()
        let account = try await env.createAccount(customer: customer)
        let programReply = try await env.post("/card-programs", #"{"name": "P", "currency": "USD", "bin": "42424242"\#(program)}"#)
        #expect(programReply.status == .created, "\(programReply.text)")
        let shipping = type == "physical"
            ? #", "shipping": {"name": "Ada", "line1": "1 Main St", "city": "Berlin", "postal_code": "10115", "country": "DE"}"# : ""
        let cardReply = try await env.post("/cards", #"""
            {"customer": "\#(customer)", "account": "\#(account)", "program": "\#(programReply.id)", "type": "\#(type)"\#(shipping)\#(card)}
            """#)
        #expect(cardReply.status == .created, "\(cardReply.text)")
        if fund > 0 {
            #expect(try await env.deposit(account, fund).status == .created)
            let funded = try await env.post("/cards/\(cardReply.id)/fund", #"{"amount_minor": \#(fund), "transaction_reference": "\#(UUID())"}"#)
            #expect(funded.status == .created, "\(funded.text)")
        }
        return AuthorizationFixture(env: env, card: cardReply.id, account: account, network: try await env.createKey(role: "network"),
                                    operatorKey: try await env.createKey(role: "operator"),
                                    programSecret: programReply.json["authorization_webhook_secret"] as? String)
    }

    func authorize(
        _ amount: Int64, currency: String = "USD", mcc: String = "5411", country: String = "US", channel: String = "online",
        merchantLocation: String = "", device: String = "", reference: String = UUID().uuidString, card: String? = nil
    ) async throws -> TestReply {
        try await env.post("/authorizations", #"""
            {"card": "\#(card ?? self.card)", "amount_minor": \#(amount), "currency": "\#(currency)", "channel": "\#(channel)",
             "merchant": {"id": "m_1", "name": "Corner Shop", "mcc": "\#(mcc)", "country": "\#(country)", "city": "Berlin"\#(merchantLocation)}\#(device),
             "network_reference": "\#(reference)"}
            """#, key: network)
    }

    func cardState() async throws -> [String: Any] { try await env.get("/cards/\(card)").json }

    func available() async throws -> Int { try await cardState()["available_minor"] as! Int }

    func held() async throws -> Int { try await cardState()["held_minor"] as! Int }

    func trialBalanced() async throws -> Bool {
        let totals = try await env.store.read(tenant: env.tenant) { try await $0.ledger.trialBalance() }
        return totals.values.allSatisfy { $0.debits == $0.credits }
    }
}

extension TestReply {
    var status_: String? { json["status"] as? String }
    var declineReason: String? { json["decline_reason"] as? String }
    var responseCode: String? { json["response_code"] as? String }
    var rules: [[String: Any]] { (json["policy"] as? [String: Any])?["rules"] as? [[String: Any]] ?? [] }
    func rule(_ name: String) -> [String: Any]? { rules.first { $0["rule"] as? String == name } }
    var holdAmount: Int? { (json["hold"] as? [String: Any])?["amount_minor"] as? Int }
}

@Suite struct AuthorizationTests {
    @Test(arguments: Backend.allCases)
    func approvalHoldsFundsRecordsEveryRuleAndReplaysTheFirstDecision(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let f = try await AuthorizationFixture.make(env, fund: 10_000)
            let reply = try await f.authorize(2_500, reference: "net-1")
            #expect(reply.status == .created, "\(reply.text)")
            #expect(reply.id.hasPrefix("auth_"))
            #expect(reply.status_ == "approved" && reply.responseCode == "00" && reply.declineReason == nil)
            #expect(reply.holdAmount == 2_500)
            #expect(reply.json["available_minor"] as? Int == 7_500)
            #expect(reply.rules.map { $0["rule"] as! String } == PolicyRule.allCases.map(\.rawValue), "every rule, in the documented order")
            #expect(reply.rule("available_funds")?["result"] as? String == "pass")
            #expect(try await f.available() == 7_500)
            #expect(try await f.held() == 2_500)
            let spend = try #require(try await f.cardState()["spend"] as? [String: Any])
            #expect((spend["daily"] as? [String: Any])?["used_minor"] as? Int == 2_500)
            #expect(try await f.trialBalanced())

            let replay = try await f.authorize(2_500, reference: "net-1")
            #expect(replay.status == .created && replay.body == reply.body, "a replay answers the first decision, with its status")
            #expect(replay.headers[.init("Idempotent-Replayed")!] == "true")
            for (amount, card): (Int64, String) in [(2_501, f.card), (2_500, "card_00000000000000000000ZZ")] {
                let reused = try await f.authorize(amount, reference: "net-1", card: card)
                #expect(reused.status == .unprocessableContent && reused.errorCode == "network_reference_reused", "\(reused.text)")
            }
            #expect(try await f.available() == 7_500, "and holds nothing twice")
            #expect(try await env.get("/events?type=authorization.approved").list.count == 1)
            #expect(try await env.get("/authorizations/\(reply.id)").body == reply.body)
        }
    }

    @Test(arguments: Backend.allCases)
    func everyDeclineReasonAnswersItsResponseCodeAndHoldsNothing(_ backend: Backend) async throws {
        let clock = TestClock("2026-11-23T12:00:00Z")
        try await TestEnvironment.run(backend, clock: clock) { env in
            // Holds outlive the eight days the clock moves: the expiry worker must not give spend back meanwhile.
            let controls = #", "hold_lifetime_hours": 720, "spend_controls": {"per_transaction_minor": 5000, "daily_minor": 8000, "weekly_minor": 9000, "monthly_minor": 9500, "lifetime_minor": 9800, "blocked_mccs": ["gambling"], "blocked_channels": ["atm"], "allowed_countries": ["US", "DE"]}"#
            let f = try await AuthorizationFixture.make(env, program: controls, fund: 20_000)
            func expectDecline(_ reply: TestReply, _ reason: String, _ code: String, _ rule: String) {
                #expect(reply.status == .created, "\(reply.text)")
                #expect(reply.status_ == "declined" && reply.declineReason == reason && reply.responseCode == code, "\(reason): \(reply.text)")
                #expect((reply.json["policy"] as? [String: Any])?["deciding_rule"] as? String == rule)
                #expect(reply.rule(rule)?["result"] as? String == "fail")
                #expect(reply.json["hold"] is NSNull || reply.json["hold"] == nil)
            }
            expectDecline(try await f.authorize(100, currency: "EUR"), "currency_mismatch", "12", "currency")
            expectDecline(try await f.authorize(100, channel: "atm"), "channel_blocked", "57", "channel")
            expectDecline(try await f.authorize(100, mcc: "7995"), "merchant_category_blocked", "57", "merchant_category")
            expectDecline(try await f.authorize(100, country: "FR"), "country_blocked", "62", "country")
            expectDecline(try await f.authorize(5_001), "per_transaction_limit", "61", "per_transaction_limit")
            #expect(try await f.authorize(5_000).status_ == "approved")
            expectDecline(try await f.authorize(3_001), "daily_limit", "61", "daily_limit")
            #expect(try await f.authorize(3_000).status_ == "approved")
            clock.set("2026-11-24T12:00:00Z")
            expectDecline(try await f.authorize(1_001), "weekly_limit", "61", "weekly_limit")
            #expect(try await f.authorize(1_000).status_ == "approved")
            clock.set("2026-11-30T12:00:00Z")   // a new ISO week, the same month
            expectDecline(try await f.authorize(501), "monthly_limit", "61", "monthly_limit")
            #expect(try await f.authorize(500).status_ == "approved")
            clock.set("2026-12-01T12:00:00Z")   // a new month, the same lifetime
            expectDecline(try await f.authorize(301), "lifetime_limit", "61", "lifetime_limit")
            #expect(try await f.available() == 20_000 - 9_500)

            let poor = try await AuthorizationFixture.make(env, fund: 1_000)
            expectDecline(try await poor.authorize(1_001), "insufficient_funds", "51", "available_funds")
            clock.set("2030-01-01T00:00:00Z")   // past the card's expiry month
            expectDecline(try await poor.authorize(10), "card_expired", "54", "expiry")
            clock.set("2026-12-01T12:00:00Z")
            #expect(try await env.post("/cards/\(poor.card)/lock", #"{"reason": "lost"}"#).status == .ok)
            expectDecline(try await poor.authorize(10), "card_locked", "62", "card_status")
            #expect(try await env.post("/operator/cards/\(poor.card)/close", #"{"reason": "closed"}"#, key: poor.operatorKey).status == .ok)
            expectDecline(try await poor.authorize(10), "card_closed", "14", "card_status")
            #expect(try await poor.available() == 1_000)
            #expect(try await poor.held() == 0)
            #expect(try await f.trialBalanced())
        }
    }

    @Test(arguments: Backend.allCases)
    func dailyWindowFollowsTheTenantsMidnight(_ backend: Backend) async throws {
        let clock = TestClock("2026-01-15T04:30:00Z")   // 23:30 on the 14th in New York
        try await TestEnvironment.run(backend, clock: clock) { env in
            #expect(try await env.post("/tenant", #"{"time_zone": "America/New_York"}"#).json["time_zone"] as? String == "America/New_York")
            let f = try await AuthorizationFixture.make(env, program: #", "spend_controls": {"daily_minor": 1000}"#)
            #expect(try await f.authorize(600).status_ == "approved")
            clock.set("2026-01-15T04:59:59Z")           // 23:59:59 local: the same day
            #expect(try await f.authorize(600).declineReason == "daily_limit")
            clock.set("2026-01-15T05:00:00Z")           // midnight local: a new day (in UTC it is still the 15th)
            let reply = try await f.authorize(600)
            #expect(reply.status_ == "approved", "\(reply.text)")
            #expect(reply.rule("daily_limit")?["inputs"] as? [String: Any] != nil)
            let spend = try #require(try await f.cardState()["spend"] as? [String: Any])
            #expect((spend["daily"] as? [String: Any])?["used_minor"] as? Int == 600)
            #expect((spend["daily"] as? [String: Any])?["remaining_minor"] as? Int == 400)
            #expect(spend["time_zone"] as? String == "America/New_York")
            #expect(try await env.post("/tenant", #"{"time_zone": "Mars/Olympus"}"#).errorParam == "time_zone")
        }
    }

    @Test(arguments: Backend.allCases)
    func reversalsReleaseAtMostWhatIsHeldAndGiveTheLimitBack(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let f = try await AuthorizationFixture.make(env, program: #", "spend_controls": {"daily_minor": 1000}"#, fund: 5_000)
            let auth = try await f.authorize(800)
            #expect(try await f.authorize(300).declineReason == "daily_limit")
            let partial = try await env.post("/authorizations/\(auth.id)/reversals", #"{"amount_minor": 300}"#, key: f.network)
            #expect(partial.status == .ok, "\(partial.text)")
            #expect(partial.status_ == "approved" && partial.holdAmount == 500)
            #expect(try await f.available() == 4_500)
            #expect(try await f.authorize(300).status_ == "approved", "the reversed amount is spendable again")
            let over = try await env.post("/authorizations/\(auth.id)/reversals", #"{"amount_minor": 501}"#, key: f.network)
            #expect(over.status == .badRequest && over.errorParam == "amount_minor")
            let full = try await env.post("/authorizations/\(auth.id)/reversals", "{}", key: f.network)
            #expect(full.status_ == "reversed" && full.holdAmount == 0)
            #expect((full.json["hold"] as? [String: Any])?["status"] as? String == "released")
            let again = try await env.post("/authorizations/\(auth.id)/reversals", "{}", key: f.network)
            #expect(again.status == .conflict && again.errorCode == "authorization_not_held")
            #expect(try await f.available() == 4_700)
            #expect(try await f.held() == 300)
            #expect(try await env.get("/events?type=authorization.reversed").list.count == 2)
            #expect(try await f.trialBalanced())
        }
    }

    @Test(arguments: Backend.allCases)
    func incrementsRunThePolicyAgainOnTheAddedAmount(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let f = try await AuthorizationFixture.make(env, program: #", "spend_controls": {"per_transaction_minor": 2000}"#, fund: 3_000)
            let auth = try await f.authorize(1_000)
            let more = try await env.post("/authorizations/\(auth.id)/increments", #"{"amount_minor": 500}"#, key: f.network)
            #expect(more.status == .ok && more.holdAmount == 1_500, "\(more.text)")
            #expect(auth.json["available_minor"] as? Int == 2_000 && more.json["available_minor"] as? Int == 1_500,
                    "available_minor is the card's balance after the latest approved increment")
            #expect(try await env.get("/authorizations/\(auth.id)").json["available_minor"] as? Int == 1_500)
            let overLimit = try await env.post("/authorizations/\(auth.id)/increments", #"{"amount_minor": 501}"#, key: f.network)
            let last = try #require((overLimit.json["adjustments"] as? [[String: Any]])?.last)
            #expect(last["status"] as? String == "declined" && last["decline_reason"] as? String == "per_transaction_limit")
            #expect(last["response_code"] as? String == "61")
            #expect(overLimit.holdAmount == 1_500 && overLimit.status_ == "approved", "a declined increment leaves the hold")
            #expect(overLimit.json["available_minor"] as? Int == 1_500, "and the balance it reported")
            #expect(try await f.available() == 1_500)
            let declined = try await f.authorize(5_000)
            let refused = try await env.post("/authorizations/\(declined.id)/increments", #"{"amount_minor": 1}"#, key: f.network)
            #expect(refused.status == .conflict && refused.errorCode == "authorization_not_approved")
            #expect(try await f.trialBalanced())
        }
    }

    @Test(arguments: Backend.allCases)
    func reviewHoldsFundsAndTheOperatorSettlesItEitherWay(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let rules = #", "review_rules": [{"type": "amount_over", "amount_minor": 5000}, {"type": "mcc", "mccs": ["7011"]}]"#
            let lenient = try await AuthorizationFixture.make(env, program: rules + #", "review_outcome": "approve""#, fund: 10_000)
            let inReview = try await lenient.authorize(6_000)
            #expect(inReview.status_ == "review" && inReview.responseCode == "00" && inReview.holdAmount == 6_000, "\(inReview.text)")
            #expect(inReview.rule("review_rules")?["result"] as? String == "review")
            let queue = try await env.get("/authorizations?status=review", key: lenient.operatorKey).list.map { $0["id"] as? String }
            #expect(queue == [inReview.id])
            #expect(try await env.post("/authorizations/\(inReview.id)/review", #"{"decision": "approve"}"#, key: lenient.network).status == .forbidden)
            let approved = try await env.post("/authorizations/\(inReview.id)/review", #"{"decision": "approve", "note": "known customer"}"#,
                                              key: lenient.operatorKey)
            #expect(approved.status_ == "approved" && approved.holdAmount == 6_000, "\(approved.text)")
            #expect((approved.json["review"] as? [String: Any])?["note"] as? String == "known customer")
            #expect(try await lenient.available() == 4_000)

            let strict = try await AuthorizationFixture.make(env, program: rules, fund: 10_000)
            let hotel = try await strict.authorize(100, mcc: "7011")
            #expect(hotel.status_ == "review" && hotel.responseCode == "05", "the program's default outcome is decline toward the network")
            #expect(hotel.holdAmount == nil && (hotel.json["review"] as? [String: Any])?["network_outcome"] as? String == "decline",
                    "the network heard no: nothing is held \(hotel.text)")
            #expect(try await strict.available() == 10_000)
            #expect(try await strict.held() == 0)
            let declined = try await env.post("/authorizations/\(hotel.id)/review", #"{"decision": "decline"}"#, key: strict.operatorKey)
            #expect(declined.status_ == "declined" && declined.declineReason == "review_declined")
            #expect(try await strict.available() == 10_000)
            #expect(try await strict.held() == 0)
            // The operator approves a review the network was told was declined: recorded, never an approval.
            let motel = try await strict.authorize(200, mcc: "7011")
            let overruled = try await env.post("/authorizations/\(motel.id)/review", #"{"decision": "approve"}"#, key: strict.operatorKey)
            #expect(overruled.status_ == "declined" && overruled.declineReason == "review_declined" && overruled.responseCode == "05",
                    "\(overruled.text)")
            #expect((overruled.json["review"] as? [String: Any])?["decision"] as? String == "approve")
            #expect(try await strict.available() == 10_000)
            #expect(try await strict.held() == 0)

            // Through clearing: the approved review's hold pays its clearing; a clearing for a review
            // the network was told was declined finds nothing held, is posted from the card's funds
            // and opens a case.
            let paid = try await lenient.clear(6_000, authorization: inReview.id)
            #expect(paid.status_ == "matched" && paid.json["reconciliation_case"] == nil, "\(paid.text)")
            #expect(try await lenient.held() == 0)
            #expect(try await lenient.available() == 4_000)
            let inn = try await strict.authorize(300, mcc: "7011")
            let unheld = try await strict.clear(300, authorization: inn.id)
            #expect(unheld.status == .created && unheld.status_ != "matched" && unheld.json["reconciliation_case"] != nil, "\(unheld.text)")
            #expect(try await strict.available() == 9_700)
            #expect(try await strict.held() == 0)
            #expect(try await lenient.trialBalanced())
            #expect(try await strict.trialBalanced())
            let twice = try await env.post("/authorizations/\(hotel.id)/review", #"{"decision": "approve"}"#, key: strict.operatorKey)
            #expect(twice.status == .conflict && twice.errorCode == "authorization_not_in_review")
            let waiting = try await env.get("/authorizations?status=review").list.map { $0["id"] as? String }
            #expect(waiting == [inn.id], "only the review whose clearing came unasked waits for the operator")
            #expect(try await strict.trialBalanced())
        }
    }

    @Test(arguments: Backend.allCases)
    func geofenceNearFarAndMissing(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let f = try await AuthorizationFixture.make(env, card: #", "geofence_enabled": true, "geofence_radius_km": 50"#, type: "physical")
            let berlin = #", "lat": 52.52, "lon": 13.405"#
            let potsdam = #", "device_location": {"lat": 52.39, "lon": 13.06}"#
            let munich = #", "device_location": {"lat": 48.137, "lon": 11.575}"#
            let near = try await f.authorize(100, country: "DE", channel: "in_store", merchantLocation: berlin, device: potsdam)
            #expect(near.status_ == "approved" && near.rule("geofence")?["result"] as? String == "pass", "\(near.text)")
            let distance = try #require((near.rule("geofence")?["inputs"] as? [String: Any])?["distance_km"] as? Double)
            #expect(distance > 25 && distance < 30)
            let far = try await f.authorize(100, country: "DE", channel: "contactless", merchantLocation: berlin, device: munich)
            #expect(far.declineReason == "geofence_mismatch" && far.responseCode == "59")
            let missing = try await f.authorize(100, country: "DE", channel: "in_store", merchantLocation: berlin)
            #expect(missing.status_ == "approved")
            #expect(missing.rule("geofence")?["result"] as? String == "not_applicable")
            #expect((missing.rule("geofence")?["inputs"] as? [String: Any])?["missing"] as? String == "device_location")
            let online = try await f.authorize(100, country: "DE", channel: "online", merchantLocation: berlin, device: munich)
            #expect(online.status_ == "approved", "geofencing applies to physical channels only")
        }
    }

    @Test(arguments: Backend.allCases)
    func heldHoldsExpireOnceAfterTheProgramsLifetime(_ backend: Backend) async throws {
        let clock = TestClock("2026-11-23T12:00:00Z")
        // The application's own expiry worker stays asleep: the four below are the only ones.
        try await TestEnvironment.run(backend, clock: clock) { env in
            let f = try await AuthorizationFixture.make(env, program: #", "hold_lifetime_hours": 2"#, fund: 1_000)
            let auth = try await f.authorize(400)
            clock.set("2026-11-23T13:59:59Z")
            #expect(try await HoldExpiry.releaseDue(store: env.store, batch_max: 10).isEmpty)
            clock.set("2026-11-23T14:00:00Z")
            // Several workers at once (several processes in production): the hold is released once.
            let released = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<4 { group.addTask { try await HoldExpiry.releaseDue(store: env.store, batch_max: 10).count } }
                return try await group.reduce(0, +)
            }
            #expect(released == 1)
            let expired = try await env.get("/authorizations/\(auth.id)")
            #expect(expired.status_ == "expired" && (expired.json["hold"] as? [String: Any])?["status"] as? String == "released")
            #expect(try await f.available() == 1_000)
            #expect(try await f.held() == 0)
            #expect(try await env.get("/events?type=authorization.expired").list.count == 1)
            #expect(try await f.trialBalanced())
        }
    }

    @Test(arguments: Backend.allCases)
    func racingAuthorizationsNeverOverspendFundsOrLimits(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let funds = try await AuthorizationFixture.make(env, fund: 1_000)
            let limited = try await AuthorizationFixture.make(env, program: #", "spend_controls": {"daily_minor": 500}"#, fund: 100_000)
            for f in [funds, limited] {
                let statuses = try await withThrowingTaskGroup(of: String.self) { group in
                    for _ in 0..<20 { group.addTask { try await f.authorize(100).status_ ?? "error" } }
                    return try await group.reduce(into: [String]()) { $0.append($1) }
                }
                let expected = f.card == funds.card ? 10 : 5
                #expect(statuses.filter { $0 == "approved" }.count == expected)
                #expect(statuses.filter { $0 == "declined" }.count == 20 - expected)
                #expect(try await f.held() == expected * 100)
            }
            #expect(try await funds.available() == 0)
            #expect(try await funds.trialBalanced())
        }
    }

    @Test(arguments: Backend.allCases)
    func evidenceShowsRulesHoldEventsAndAuditButNoPAN(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let f = try await AuthorizationFixture.make(env, program: #", "spend_controls": {"daily_minor": 1000}"#)
            let auth = try await f.authorize(700)
            _ = try await env.post("/authorizations/\(auth.id)/reversals", #"{"amount_minor": 200}"#, key: f.network)
            let reply = try await env.get("/authorizations/\(auth.id)/evidence", key: f.operatorKey)
            #expect(reply.status == .ok, "\(reply.text)")
            let e = reply.json
            #expect(e["authorization"] as? String == auth.id)
            #expect((e["card"] as? [String: Any])?["id"] as? String == f.card)
            #expect((e["card"] as? [String: Any])?["last4"] as? String != nil)
            #expect((e["merchant"] as? [String: Any])?["mcc"] as? String == "5411")
            #expect((e["decision"] as? [String: Any])?["status"] as? String == "approved")
            let rules = try #require((e["policy"] as? [String: Any])?["rules"] as? [[String: Any]])
            let daily = try #require(rules.first { $0["rule"] as? String == "daily_limit" })
            #expect((daily["inputs"] as? [String: Any])?["limit_minor"] as? Int == 1000)
            let entries = try #require(e["journal_entries"] as? [[String: Any]])
            #expect(entries.count == 2, "the hold and the partial reversal")
            #expect((e["events"] as? [[String: Any]])?.map { $0["type"] as? String } == ["authorization.approved", "authorization.reversed"])
            #expect((e["audit_records"] as? [[String: Any]])?.count == 2)
            #expect((e["timings"] as? [String: Any])?["decided_at"] as? String != nil)
            let sealed = try #require(try await env.store.read(tenant: env.tenant) { try await $0.cards.sealedData(CardID(unchecked: f.card)) })
            let pan = try CardVaultProbe(env: env).open(sealed).pan
            #expect(!reply.text.contains(pan))
            #expect(try await env.get("/authorizations/\(auth.id)/evidence", key: try await env.otherTenantKey()).status == .notFound)
        }
    }

    @Test(arguments: Backend.allCases)
    func badRequestsAreRefusedAndChangeNothing(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let f = try await AuthorizationFixture.make(env, fund: 1_000)
            let developer = try await env.createKey(role: "developer")
            let before = try await env.footprint()
            #expect(try await f.authorize(0).errorParam == "amount_minor")
            #expect(try await f.authorize(10, mcc: "12").errorParam == "merchant.mcc")
            #expect(try await f.authorize(10, country: "XX").errorParam == "merchant.country")
            #expect(try await f.authorize(10, channel: "pigeon").errorParam == "channel")
            #expect(try await f.authorize(10, device: #", "device_location": {"lat": 91, "lon": 0}"#).errorParam == "device_location.lat")
            #expect(try await f.authorize(10, currency: "ZZZ").errorParam == "currency")
            let missingCard = try await env.post("/authorizations", #"{"card": "card_nope", "amount_minor": 1, "currency": "USD", "channel": "online", "merchant": {"id": "m", "name": "n", "mcc": "5411", "country": "US"}, "network_reference": "x"}"#, key: f.network)
            #expect(missingCard.status == .notFound)
            #expect(try await f.authorize(10, reference: "").errorParam == "network_reference")
            #expect(try await env.post("/authorizations", "{}", key: developer).status == .forbidden)
            #expect(try await env.footprint() == before)
            #expect(try await f.available() == 1_000)
        }
    }
}
