import Foundation
import Testing
import ZentraApp
import ZentraCore
import ZentraStorage
import ZentraTestSupport

/// A small deterministic generator, so a failing sequence can be run again from its seed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct LedgerInvariantTests {
    /// Random sequences of every money operation; after each stretch the ledger must verify (balanced
    /// per currency and per entry, every account's totals equal to its lines, no customer money below
    /// zero) and every card's held amount must equal what its authorizations hold. No step may 5xx.
    @Test(arguments: Backend.allCases)
    func randomSequencesOfMoneyOperationsKeepTheLedgerExact(_ backend: Backend) async throws {
        let clock = TestClock("2026-11-23T12:00:00Z")
        try await TestEnvironment.run(backend, clock: clock) { env in try await Self.runSequence(env, clock: clock) }
    }

    static func runSequence(_ env: TestEnvironment, clock: TestClock) async throws {
        let seed = UInt64(ProcessInfo.processInfo.environment["ZENTRA_LEDGER_SEED"] ?? "") ?? UInt64.random(in: 1...UInt64.max)
        var rng = SplitMix64(state: seed)
        let cards = [try await AuthorizationFixture.make(env, fund: 20_000), try await AuthorizationFixture.make(env, fund: 5_000)]
        let developer = try await env.createKey(role: "developer")
        var authorizations: [(AuthorizationFixture, String)] = []
        var transactions: [(AuthorizationFixture, String)] = []
        var disputes: [String] = []
        var operations: [String: Int] = [:]
        var minute = 0

        for step in 1...90 {
            minute += 1
            clock.set(Timestamp(microseconds: Timestamp(rfc3339: "2026-11-23T12:00:00Z")!.microseconds + Int64(minute) * 60_000_000).description)
            let card = cards[Int.random(in: 0..<cards.count, using: &rng)]
            let amount = Int64.random(in: 1...3_000, using: &rng)
            let roll = Int.random(in: 0..<100, using: &rng)
            switch roll {
            case 0..<30:
                let reply = try await card.authorize(amount)
                Self.check(seed, reply, "authorize")
                if reply.status_ != "declined" { authorizations.append((card, reply.id)) }
                operations["authorize", default: 0] += 1
            case 30..<38 where !authorizations.isEmpty:
                let (owner, id) = authorizations.randomElement(using: &rng)!
                let partial = Bool.random(using: &rng) ? #"{"amount_minor": \#(Int64.random(in: 1...500, using: &rng))}"# : "{}"
                Self.check(seed, try await env.post("/authorizations/\(id)/reversals", partial, key: owner.network), "reverse")
                operations["reverse", default: 0] += 1
            case 38..<42 where !authorizations.isEmpty:
                let (owner, id) = authorizations.randomElement(using: &rng)!
                Self.check(seed, try await env.post("/authorizations/\(id)/increments", #"{"amount_minor": \#(amount / 4 + 1)}"#, key: owner.network), "increment")
                operations["increment", default: 0] += 1
            case 42..<62 where !authorizations.isEmpty:
                let index = Int.random(in: 0..<authorizations.count, using: &rng)
                let (owner, id) = authorizations[index]
                let held = try await env.get("/authorizations/\(id)").json["hold"] as? [String: Any]
                let base = Int64(held?["amount_minor"] as? Int ?? 0)
                let cleared = max(1, base + Int64.random(in: -400...400, using: &rng))
                let reply = try await owner.clear(cleared, authorization: id)
                Self.check(seed, reply, "clear")
                if let transaction = reply.json["transaction"] as? String { transactions.append((owner, transaction)) }
                operations["clear", default: 0] += 1
            case 62..<66:
                let reply = try await card.clear(amount, reference: "unknown-\(step)")
                Self.check(seed, reply, "force post")
                if let transaction = reply.json["transaction"] as? String { transactions.append((card, transaction)) }
                operations["force_post", default: 0] += 1
            case 66..<70:
                let lines = (0..<3).map { line in
                    "file-\(step)-\(line),,,\(card.card),\(Int64.random(in: 1...900, using: &rng)),USD,m,Shop,5411,US"
                }
                let reply = try await card.sendFile("F-\(step)", ClearingFileTests.header + "\n" + lines.joined(separator: "\n"))
                Self.check(seed, reply, "clearing file")
                operations["file", default: 0] += 1
            case 70..<76:
                Self.check(seed, try await env.post("/settlements", #"{"currency": "USD"}"#, key: card.network), "settle")
                operations["settle", default: 0] += 1
            case 76..<86 where !transactions.isEmpty:
                let (owner, transaction) = transactions.randomElement(using: &rng)!
                let detail = try await env.get("/transactions/\(transaction)").json
                let open = Int64((detail["amount_minor"] as? Int ?? 0) - (detail["disputed_minor"] as? Int ?? 0))
                guard open > 0 else { continue }
                let reply = try await owner.openDispute(transaction, Int64.random(in: 1...open, using: &rng),
                                                        provisional: Bool.random(using: &rng), key: developer)
                Self.check(seed, reply, "open dispute")
                if reply.status == .created { disputes.append(reply.id) }
                operations["dispute", default: 0] += 1
            case 86..<96 where !disputes.isEmpty:
                let id = disputes.randomElement(using: &rng)!
                let action = ["submit", "withdraw", "resolve-won", "resolve-lost"].randomElement(using: &rng)!
                let reply = action.hasPrefix("resolve")
                    ? try await env.post("/disputes/\(id)/resolve", #"{"outcome": "\#(action.dropFirst(8))"}"#, key: card.operatorKey)
                    : try await env.post("/disputes/\(id)/\(action)", "{}", key: developer)
                Self.check(seed, reply, "dispute \(action)")
                operations["dispute_step", default: 0] += 1
            case 96..<100:
                minute += 60 * 24 * 8   // past every program's hold lifetime
                clock.set(Timestamp(microseconds: Timestamp(rfc3339: "2026-11-23T12:00:00Z")!.microseconds + Int64(minute) * 60_000_000).description)
                _ = try await HoldExpiry.releaseDue(store: env.store, batch_max: 50)
                operations["expire", default: 0] += 1
            default:
                continue
            }
            if step % 15 == 0 { try await Self.verify(env, cards, seed) }
        }
        try await Self.verify(env, cards, seed)
        #expect(operations.count >= 8, "seed \(seed): the sequence exercised most operations: \(operations)")
    }

    static func check(_ seed: UInt64, _ reply: TestReply, _ what: String) {
        #expect(reply.status.code < 500, "seed \(seed): \(what) answered \(reply.status): \(reply.text)")
    }

    static func verify(_ env: TestEnvironment, _ cards: [AuthorizationFixture], _ seed: UInt64) async throws {
        let report = try await env.store.read(tenant: env.tenant) { try await $0.ledger.verify() }
        let rendered = try ZentraJSON.encodeString(report)
        #expect(report.ok, "seed \(seed): \(rendered)")
        for card in cards {
            let auths = try await env.get("/authorizations?card=\(card.card)&limit=100").list
            let holding = auths.compactMap { $0["hold"] as? [String: Any] }.filter { $0["status"] as? String == "held" }
                .compactMap { $0["amount_minor"] as? Int }.reduce(0, +)
            let held = try await card.held()
            #expect(held == holding, "seed \(seed): the card's reserved balance is what its authorizations hold")
        }
    }

    @Test(arguments: Backend.allCases)
    func verificationCatchesATamperedAccountTotal(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let f = try await AuthorizationFixture.make(env, fund: 1_000)
            _ = try await f.purchase(400)
            #expect(try await f.ledgerVerified().ok)
            try await env.store.engine.withTransaction { sql in
                // A card's available account keeps its totals on the card's state row.
                try await sql.execute("UPDATE card_state SET available_credits = available_credits + 1")
            }
            let report = try await f.ledgerVerified()
            #expect(!report.ok && report.accountMismatches.count == 1)
        }
    }
}
