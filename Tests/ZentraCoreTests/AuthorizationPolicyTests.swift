import Foundation
import Testing
@testable import ZentraCore

/// A small seeded generator (SplitMix64): property tests reproduce from their seed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

enum PolicyInputs {
    static let usd = Currency(code: "USD")!
    static let now = Timestamp(rfc3339: "2026-11-23T12:00:00Z")!

    static func random(_ g: inout SeededGenerator) -> PolicyInput {
        func maybe<T>(_ value: @autoclosure () -> T) -> T? { Bool.random(using: &g) ? value() : nil }
        func limit() -> Int64? { maybe(Int64.random(in: 1...50_000, using: &g)) }
        let controls = SpendControls(
            perTransactionMinor: limit(), dailyMinor: limit(), weeklyMinor: limit(), monthlyMinor: limit(), lifetimeMinor: limit(),
            allowedMccs: maybe(["5411", "grocery", "5812"]), blockedMccs: maybe(["gambling"]),
            allowedChannels: maybe(["online", "in_store"]), blockedChannels: maybe(["atm"]), allowedCountries: maybe(["US", "DE"]))
        let card = CardPolicySnapshot(
            status: CardStatus.allCases.randomElement(using: &g)!, expMonth: Int.random(in: 1...12, using: &g),
            expYear: Int.random(in: 2025...2029, using: &g), currency: usd, controls: controls,
            geofenceEnabled: Bool.random(using: &g), geofenceRadiusKm: Int.random(in: 1...500, using: &g))
        let amount = Int64.random(in: 1...20_000, using: &g)
        let merchant = Merchant(id: "m", name: "M", mcc: ["5411", "7995", "5812", "4511"].randomElement(using: &g)!,
                                country: ["US", "DE", "FR"].randomElement(using: &g)!,
                                lat: maybe(Double.random(in: -60...60, using: &g)), lon: Double.random(in: -170...170, using: &g))
        let fixedMerchant = merchant.lat == nil ? Merchant(id: "m", name: "M", mcc: merchant.mcc, country: merchant.country) : merchant
        return PolicyInput(
            card: card, amount: Money(minor: amount, currency: Bool.random(using: &g) ? usd : Currency(code: "EUR")!),
            transactionTotalMinor: amount, merchant: fixedMerchant, channel: Channel.allCases.randomElement(using: &g)!,
            deviceLocation: maybe(GeoPoint(lat: Double.random(in: -60...60, using: &g), lon: Double.random(in: -170...170, using: &g))),
            now: now,
            spend: SpendUsage(dailyMinor: Int64.random(in: 0...30_000, using: &g), weeklyMinor: Int64.random(in: 0...30_000, using: &g),
                              monthlyMinor: Int64.random(in: 0...30_000, using: &g), lifetimeMinor: Int64.random(in: 0...30_000, using: &g)),
            availableMinor: Int64.random(in: 0...40_000, using: &g),
            reviewRules: maybe([ReviewRule(type: "amount_over", amountMinor: 15_000)]) ?? [],
            reviewOutcome: Bool.random(using: &g) ? .approve : .decline, webhookConfigured: false, customer: nil)
    }
}

@Suite struct AuthorizationPolicyTests {
    @Test func randomInputsAreDecidedDeterministicallyAndNeverApprovedOverALimit() {
        var g = SeededGenerator(state: 20_261_123)
        var approvals = 0
        var declines = 0
        for _ in 0..<20_000 {
            let input = PolicyInputs.random(&g)
            let decision = AuthorizationPolicy.evaluate(input)
            #expect(AuthorizationPolicy.evaluate(input) == decision, "deterministic")
            #expect(decision.rules.map(\.rule) == PolicyRule.allCases, "every rule, in order")
            let amount = input.amount.minor
            let c = input.card.controls
            if decision.holds {
                approvals += 1
                #expect(input.card.status == .active && input.amount.currency == input.card.currency)
                #expect(amount <= input.availableMinor)
                #expect(c.perTransactionMinor.map { input.transactionTotalMinor <= $0 } ?? true)
                #expect(c.dailyMinor.map { input.spend.dailyMinor + amount <= $0 } ?? true)
                #expect(c.weeklyMinor.map { input.spend.weeklyMinor + amount <= $0 } ?? true)
                #expect(c.monthlyMinor.map { input.spend.monthlyMinor + amount <= $0 } ?? true)
                #expect(c.lifetimeMinor.map { input.spend.lifetimeMinor + amount <= $0 } ?? true)
                #expect(decision.rules.allSatisfy { $0.outcome != .fail })
            } else {
                declines += 1
                let firstFailure = decision.rules.first { $0.outcome == .fail }
                #expect(firstFailure?.rule == decision.decidingRule, "the first failing rule decides")
                #expect(decision.responseCode == decision.declineReason?.responseCode)
            }
        }
        #expect(approvals > 100 && declines > 100, "the generator reaches both outcomes")
    }

    @Test func declineReasonsMapToISO8583ResponseCodes() {
        let expected: [DeclineReason: String] = [
            .cardLocked: "62", .cardClosed: "14", .cardExpired: "54", .currencyMismatch: "12", .channelBlocked: "57",
            .merchantCategoryBlocked: "57", .countryBlocked: "62", .geofenceMismatch: "59", .perTransactionLimit: "61",
            .dailyLimit: "61", .weeklyLimit: "61", .monthlyLimit: "61", .lifetimeLimit: "61", .insufficientFunds: "51",
            .reviewDeclined: "05", .customerDeclined: "05", .networkDeclined: "05",
        ]
        #expect(Set(expected.keys) == Set(DeclineReason.allCases))
        for (reason, code) in expected { #expect(reason.responseCode == code, "\(reason)") }
    }

    /// A network's stand-in advice: an approval holds (what the card has of it) and goes to review
    /// unless the policy approves too; a decline holds nothing; without an advice, the policy decides.
    @Test func standInAdvicesComeToWhatTheNetworkDecided() {
        var g = SeededGenerator(state: 120)
        for _ in 0..<3_000 {
            let input = PolicyInputs.random(&g)
            let decision = AuthorizationPolicy.evaluate(input)
            func outcome(_ standIn: String?) -> DecisionRecord.Outcome {
                let network = standIn.map {
                    NetworkMessage(mti: "0120", stan: "000001", rrn: "RRN1", transmittedAt: "1204120000", acquirer: "1", terminal: nil,
                                   processingCode: nil, entryMode: "051", posCondition: nil, transactionAmountMinor: input.amount.minor,
                                   transactionCurrency: input.amount.currency.code, billingAmountMinor: nil, billingCurrency: nil,
                                   standInResponseCode: $0)
                }
                return DecisionRecord.Outcome(decision, amount: input.amount, availableBeforeMinor: input.availableMinor,
                                              reviewOutcome: input.reviewOutcome, network: network)
            }
            let policy = outcome(nil)
            #expect(policy.status == decision.status && policy.declineReason == decision.declineReason)
            #expect(policy.responseCode == decision.responseCode && policy.holds == decision.holds)

            let approved = outcome("00")
            #expect(approved.status == (decision.status == .approved ? .approved : .review))
            #expect(approved.heldMinor == min(input.amount.minor, input.availableMinor) && approved.responseCode == "00")
            #expect(approved.networkOutcome == .approve && approved.declineReason == nil)

            let declined = outcome("51")
            #expect(declined.status == .declined && !declined.holds && declined.responseCode == "51")
            #expect(declined.declineReason == (decision.status == .declined ? decision.declineReason : .networkDeclined))
        }
    }

    @Test func windowsFollowLocalMidnightMondaysAndMonths() {
        let newYork = -5 * 3600
        let lateEvening = WindowKeys(at: Timestamp(rfc3339: "2026-01-15T04:59:59Z")!, utcOffsetSeconds: newYork)
        let midnight = WindowKeys(at: Timestamp(rfc3339: "2026-01-15T05:00:00Z")!, utcOffsetSeconds: newYork)
        #expect(midnight.day == lateEvening.day + 1)
        #expect(WindowKeys(at: Timestamp(rfc3339: "2026-01-15T04:59:59Z")!, utcOffsetSeconds: 0).day == midnight.day,
                "in UTC both instants are on the 15th")
        let sunday = WindowKeys(at: Timestamp(rfc3339: "2026-11-29T23:59:59Z")!, utcOffsetSeconds: 0)
        let monday = WindowKeys(at: Timestamp(rfc3339: "2026-11-30T00:00:00Z")!, utcOffsetSeconds: 0)
        #expect(monday.week == monday.day && sunday.week == monday.week - 7, "ISO weeks start on Monday")
        #expect(monday.month == sunday.month)
        let december = WindowKeys(at: Timestamp(rfc3339: "2026-12-01T00:00:00Z")!, utcOffsetSeconds: 0)
        #expect(december.month == monday.month + 1)
        #expect(WindowKeys(at: Timestamp(rfc3339: "2027-01-01T00:00:00Z")!, utcOffsetSeconds: 0).month == december.month + 1)
    }

    @Test func countersStartEachWindowFromZeroAndGiveBackOnlyWhereTheSpendWas() throws {
        let monday = WindowKeys(at: Timestamp(rfc3339: "2026-11-30T10:00:00Z")!, utcOffsetSeconds: 0)
        let tuesday = WindowKeys(at: Timestamp(rfc3339: "2026-12-01T10:00:00Z")!, utcOffsetSeconds: 0)
        let spent = try SpendCounters().adding(300, at: monday)
        #expect(spent.usage(at: monday) == SpendUsage(dailyMinor: 300, weeklyMinor: 300, monthlyMinor: 300, lifetimeMinor: 300))
        #expect(spent.usage(at: tuesday) == SpendUsage(dailyMinor: 0, weeklyMinor: 300, monthlyMinor: 0, lifetimeMinor: 300))
        let both = try spent.adding(200, at: tuesday)
        let reversed = both.removing(300, spentIn: monday)
        #expect(reversed.usage(at: tuesday) == SpendUsage(dailyMinor: 200, weeklyMinor: 200, monthlyMinor: 200, lifetimeMinor: 200),
                "Monday's reversal leaves Tuesday's day and December's month alone")
    }

    @Test func greatCircleDistance() {
        let berlin = GeoPoint(lat: 52.52, lon: 13.405)
        let munich = GeoPoint(lat: 48.137, lon: 11.575)
        #expect(abs(berlin.distanceKm(to: munich) - 504) < 2)
        #expect(berlin.distanceKm(to: berlin) == 0)
    }

    @Test func customerWebhookIsAskedOnlyForWhatWouldBeApproved() {
        var g = SeededGenerator(state: 7)
        var input = PolicyInputs.random(&g)
        input.card = CardPolicySnapshot(status: .active, expMonth: 12, expYear: 2030, currency: PolicyInputs.usd, controls: SpendControls(),
                                        geofenceEnabled: false, geofenceRadiusKm: 50)
        input.amount = Money(minor: 100, currency: PolicyInputs.usd)
        input.transactionTotalMinor = 100
        input.availableMinor = 1_000
        input.reviewRules = []
        input.merchant = Merchant(id: "m", name: "M", mcc: "5411", country: "US")
        input.webhookConfigured = true
        #expect(AuthorizationPolicy.evaluate(input).needsCustomerDecision)
        input.customer = CustomerDecision(decision: .decline, source: .webhook, latencyMs: 12)
        let declined = AuthorizationPolicy.evaluate(input)
        #expect(declined.declineReason == .customerDeclined && declined.decidingRule == .customerDecision)
        input.customer = nil
        input.availableMinor = 50
        let poor = AuthorizationPolicy.evaluate(input)
        #expect(!poor.needsCustomerDecision && poor.declineReason == .insufficientFunds)
        #expect(poor.rules.last?.outcome == .skipped)
    }
}

@Suite struct AuthorizationJSONTests {
    /// The writer's layout is the one every path shows: Foundation renders the encoded value to the
    /// same bytes, and the synthesized decoder reads every field of it back, for decisions of every kind.
    @Test func writtenJSONMatchesCodable() throws {
        var g = SeededGenerator(state: 99)
        let now = PolicyInputs.now
        for index in 0..<500 {
            var input = PolicyInputs.random(&g)
            if index % 3 == 0 {
                input.webhookConfigured = true
                input.customer = CustomerDecision(decision: .decline, source: .fallback, latencyMs: index, failure: index % 2 == 0 ? "timeout" : nil)
            }
            let decision = AuthorizationPolicy.evaluate(input)
            let authorization = Authorization(
                id: AuthorizationID(unchecked: "auth_\(index)"), card: CardID(unchecked: "card_1"), last4: "4242", status: decision.status,
                amountMinor: input.amount.minor, currency: PolicyInputs.usd,
                merchant: index % 2 == 0 ? input.merchant
                    : Merchant(id: "m/1", name: "Caf\u{e9} \"Quote\"\n\u{1}", mcc: "5812", country: "DE", city: "Berlin", lat: 52.52, lon: 13.405),
                channel: input.channel, deviceLocation: index % 4 == 0 ? nil : GeoPoint(lat: 52.39, lon: -13.06), networkReference: "nw-\(index)",
                declineReason: decision.declineReason, responseCode: decision.responseCode, policy: .decided(decision),
                hold: index % 5 == 0 ? nil : AuthorizationHold(amountMinor: 1_250, currency: PolicyInputs.usd,
                                                                journalEntry: JournalEntryID(unchecked: "je_1"), status: .held, expiresAt: now),
                availableMinor: Int64(index) - 100,
                review: index % 2 == 0 ? nil : AuthorizationReview(networkOutcome: .decline, decision: .approve, note: "ok", decidedBy: "key_1", decidedAt: now),
                customerDecision: input.customer,
                adjustments: index % 3 == 0 ? [] : [AuthorizationAdjustment(type: .increment, amountMinor: 5, status: .declined,
                                                                             declineReason: .insufficientFunds, responseCode: "51",
                                                                             policy: decision.json, journalEntry: nil, createdAt: now)],
                createdAt: now, updatedAt: now)
            #expect(authorization.serialized == Array(try ZentraJSON.encoder().encode(authorization)), "authorization \(index)")
            #expect(try JSONValue.from(authorization) == authorization.json)
            let roundTrip = try ZentraJSON.decoder().decode(Authorization.self, from: Data(authorization.serialized))
            #expect(roundTrip.serialized == authorization.serialized)
            #expect(try JSONValue.from(input.card.controls) == input.card.controls.json)
            #expect(try JSONValue.from(input.spend) == input.spend.json)
        }
    }
}

/// Replay: a decision decided again from its recorded inputs, after they went through their JSON form
/// and back (as they are stored), is the same decision with the same rule trace, byte for byte.
@Suite struct PolicyReplayTests {
    @Test func thousandsOfRandomDecisionsReplayIdentically() throws {
        var g = SeededGenerator(state: 8_583)
        let decoder = JSONDecoder()
        func stored(_ value: JSONValue) throws -> JSONValue { try decoder.decode(JSONValue.self, from: Data(value.serialized)) }
        var statuses: [AuthorizationStatus: Int] = [:]
        for index in 0..<2_000 {
            var input = PolicyInputs.random(&g)
            if index % 2 == 0 {   // half of them on a usable card, so that approvals and reviews are replayed too
                input.card.status = .active
                input.card.expYear = 2030
                input.amount = Money(minor: input.amount.minor, currency: PolicyInputs.usd)
            }
            input.now = Timestamp(microseconds: Int64.random(in: 1_700_000_000_000_000...1_900_000_000_000_000, using: &g))
            if Bool.random(using: &g) {
                input.webhookConfigured = true
                input.customer = Bool.random(using: &g) ? nil : CustomerDecision(
                    decision: Bool.random(using: &g) ? .approve : .decline, source: Bool.random(using: &g) ? .webhook : .fallback,
                    latencyMs: Int.random(in: 0...2_000, using: &g), failure: Bool.random(using: &g) ? nil : "timeout")
            }
            let decision = AuthorizationPolicy.evaluate(input)
            statuses[decision.status, default: 0] += 1
            let recordedInputs = try stored(input.json)
            #expect(try PolicyInput(json: recordedInputs) == input, "input \(index) reads back as it was")
            let replay = try PolicyReplay(authorization: AuthorizationID(unchecked: "auth_\(index)"), inputs: recordedInputs,
                                          recorded: try stored(decision.json))
            #expect(replay.agrees, "decision \(index) replays to the same bytes")
        }
        #expect(statuses[.approved, default: 0] > 50 && statuses[.declined, default: 0] > 50, "both outcomes are replayed: \(statuses)")
    }

    @Test func aChangedRecordedDecisionDoesNotAgree() throws {
        var g = SeededGenerator(state: 42)
        let input = PolicyInputs.random(&g)
        var recorded = AuthorizationPolicy.evaluate(input).json.objectFields
        recorded["decision"] = .string(recorded["decision"]?.stringValue == "approved" ? "declined" : "approved")
        #expect(try !PolicyReplay(authorization: AuthorizationID(unchecked: "auth_x"), inputs: input.json, recorded: .object(recorded)).agrees)
        #expect(throws: DomainError.self) { try PolicyInput(json: .object(["card": .object([:])])) }
    }
}
