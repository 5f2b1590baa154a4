import Foundation
import Testing
@testable import ZentraCore

@Suite struct ClearingCoreTests {
    static let usd = Currency(code: "USD")!

    @Test func planSplitsEveryClearingIntoHoldReleaseFundsAndShortfall() throws {
        let exact = try ClearingPlan(heldMinor: 1_000, clearedMinor: 1_000, availableMinor: 0)
        #expect(exact.fromHoldMinor == 1_000 && exact.releasedMinor == 0 && exact.fromFundsMinor == 0 && exact.deltaMinor == 0)
        let partial = try ClearingPlan(heldMinor: 1_000, clearedMinor: 600, availableMinor: 50)
        #expect(partial.fromHoldMinor == 600 && partial.releasedMinor == 400 && partial.deltaMinor == -400 && partial.addedSpendMinor == 0)
        let over = try ClearingPlan(heldMinor: 1_000, clearedMinor: 1_300, availableMinor: 200)
        #expect(over.fromHoldMinor == 1_000 && over.fromFundsMinor == 200 && over.shortfallMinor == 100 && over.addedSpendMinor == 300)
        let unmatched = try ClearingPlan(heldMinor: 0, clearedMinor: 500, availableMinor: 10_000)
        #expect(unmatched.fromFundsMinor == 500 && unmatched.deltaMinor == 500)
        #expect(throws: DomainError.self) { try ClearingPlan(heldMinor: 10, clearedMinor: 0, availableMinor: 0) }
    }

    /// For random holds, amounts and balances, the clearing entry balances and moves exactly the
    /// cleared amount to Settlement and exactly the hold out of Reserved.
    @Test func clearingEntriesBalanceForRandomInputs() throws {
        var generator = SystemRandomNumberGenerator()
        let (available, reserved, settlement, receivable) = (LedgerAccountID(unchecked: "lacct_a"), LedgerAccountID(unchecked: "lacct_r"),
                                                              LedgerAccountID(unchecked: "lacct_s"), LedgerAccountID(unchecked: "lacct_x"))
        for _ in 0..<5_000 {
            let held = Bool.random(using: &generator) ? 0 : Int64.random(in: 1...1_000_000, using: &generator)
            let plan = try ClearingPlan(heldMinor: held, clearedMinor: Int64.random(in: 1...1_000_000, using: &generator),
                                        availableMinor: Int64.random(in: 0...1_000_000, using: &generator))
            let entry = try LedgerRecipes.clearing(plan, currency: Self.usd, cardAvailable: available, cardReserved: reserved, settlement: settlement,
                                                  receivable: receivable, clearing: "clr_x")
            #expect(try entry.totals(for: settlement) == (0, plan.clearedMinor))
            #expect(try entry.totals(for: reserved) == (plan.heldMinor, 0))
            let card = try entry.totals(for: available)
            #expect(card.credits - card.debits == plan.releasedMinor - plan.fromFundsMinor)
            #expect(plan.fromHoldMinor + plan.fromFundsMinor + plan.shortfallMinor == plan.clearedMinor)
        }
    }

    @Test func matchingByAmountPicksTheClosestHoldWithinToleranceAndWindow() {
        let now = Timestamp(rfc3339: "2026-11-23T12:00:00Z")!
        func candidate(_ id: String, _ held: Int64, daysAgo: Int64) -> ClearingMatching.Candidate {
            .init(authorization: AuthorizationID(unchecked: id), heldMinor: held, createdAt: now.adding(seconds: -daysAgo * 86_400))
        }
        let candidates = [candidate("auth_a", 1_000, daysAgo: 1), candidate("auth_b", 1_150, daysAgo: 2), candidate("auth_c", 1_100, daysAgo: 40)]
        #expect(ClearingMatching.best(candidates, clearedMinor: 1_110, now: now)?.rawValue == "auth_b", "closest within the window")
        #expect(ClearingMatching.best(candidates, clearedMinor: 1_201, now: now)?.rawValue == "auth_b")
        #expect(ClearingMatching.best(candidates, clearedMinor: 1_500, now: now) == nil, "beyond 20% of every hold")
        #expect(ClearingMatching.best([candidate("auth_d", 1_000, daysAgo: 3), candidate("auth_e", 1_000, daysAgo: 1)], clearedMinor: 1_000, now: now)?
            .rawValue == "auth_d", "ties go to the oldest hold")
        #expect(ClearingMatching.withinTolerance(held: Int64.max, cleared: 1) == false)
        #expect(ClearingMatching.withinTolerance(held: Int64.max, cleared: Int64.max))
    }

    @Test func csvParserReadsQuotedFieldsAcrossChunksAndReportsBrokenRecords() {
        let text = "a,b,c\r\n1,\"x, \"\"y\"\"\",3\n\n2,\"multi\nline\",4\n5,bad\"quote,6\n7,\"open"
        for chunk in [1, 3, 7, 1_000] {
            var parser = CSVStreamParser()
            var records: [CSVStreamParser.Record] = []
            let bytes = Array(text.utf8)
            for start in stride(from: 0, to: bytes.count, by: chunk) {
                parser.feed(bytes[start..<min(start + chunk, bytes.count)]) { records.append($0) }
            }
            parser.finish { records.append($0) }
            #expect(records.map(\.line) == [1, 2, 4, 6, 7], "chunk \(chunk)")
            #expect(records[1].fields == ["1", "x, \"y\"", "3"])
            #expect(records[2].fields == ["2", "multi\nline", "4"])
            #expect(records[3].error != nil && records[4].error?.contains("not closed") == true)
        }
        var parser = CSVStreamParser(recordBytes_max: 8)
        var records: [CSVStreamParser.Record] = []
        parser.feed(Array("0123456789\nok\n".utf8)) { records.append($0) }
        #expect(records.count == 2 && records[0].error?.contains("longer") == true && records[1].fields == ["ok"])
    }

    /// Each record's layout is written once (`json`); `Codable` encodes it and reads every field back.
    @Test func handWrittenJSONIsTheCodableForm() throws {
        let now = Timestamp(rfc3339: "2026-11-23T12:00:00Z")!
        let merchant = Merchant(id: "m", name: "Shop \"1\"", mcc: "5411", country: "US", city: "Austin")
        let plan = try ClearingPlan(heldMinor: 100, clearedMinor: 130, availableMinor: 10)
        for (authorization, reconciliation): (AuthorizationID?, ReconciliationCaseID?) in [(nil, nil), (.init(unchecked: "auth_1"), .init(unchecked: "rec_1"))] {
            let clearing = Clearing(
                id: .init(unchecked: "clr_1"), clearingId: "net-1", status: .mismatched, matchMethod: .cardAmount, authorization: authorization,
                networkReference: authorization == nil ? nil : "ref", card: .init(unchecked: "card_1"), amountMinor: 130, currency: Self.usd,
                authorizedMinor: 100, deltaMinor: 30, merchant: merchant, transaction: .init(unchecked: "txn_1"), journalEntry: .init(unchecked: "je_1"),
                plan: Clearing.Plan(plan), reconciliationCase: reconciliation, fileId: authorization == nil ? nil : "F", fileLine: 7,
                settlement: authorization == nil ? nil : .init(unchecked: "stl_1"), createdAt: now)
            #expect(Array(try ZentraJSON.encoder().encode(clearing)) == clearing.json.serialized)
            #expect(try ZentraJSON.decoder().decode(Clearing.self, from: Data(clearing.json.serialized)).json == clearing.json)
            let transaction = CardTransaction(id: .init(unchecked: "txn_1"), card: .init(unchecked: "card_1"), authorization: authorization,
                                              amountMinor: 130, currency: Self.usd, merchant: merchant, disputedMinor: 5, createdAt: now, updatedAt: now)
            #expect(Array(try ZentraJSON.encoder().encode(transaction)) == transaction.json.serialized)
            #expect(try ZentraJSON.decoder().decode(CardTransaction.self, from: Data(transaction.json.serialized)).json == transaction.json)
            let resolved = authorization != nil
            let reconciliationCase = ReconciliationCase(
                id: .init(unchecked: "rec_1"), kind: .amountMismatch, status: resolved ? .resolved : .open, clearing: .init(unchecked: "clr_1"),
                authorization: authorization, transaction: .init(unchecked: "txn_1"), card: .init(unchecked: "card_1"), amountMinor: 130,
                authorizedMinor: 100, deltaMinor: 30, currency: Self.usd, ledgerEntries: [.init(unchecked: "je_1")], owner: resolved ? "ops" : nil,
                resolution: resolved ? .writtenOff : nil, note: resolved ? "n" : nil, resolvedBy: resolved ? "key_1" : nil,
                resolvedAt: resolved ? now : nil, createdAt: now, updatedAt: now)
            #expect(Array(try ZentraJSON.encoder().encode(reconciliationCase)) == reconciliationCase.json.serialized)
            #expect(try ZentraJSON.decoder().decode(ReconciliationCase.self, from: Data(reconciliationCase.json.serialized)).json == reconciliationCase.json)
        }
    }

    @Test func disputeStatesMoveOnlyForward() throws {
        #expect(try DisputeTransitions.submit(from: .opened) == .submitted)
        #expect(try DisputeTransitions.resolve(from: .submitted, .won) == .won)
        #expect(try DisputeTransitions.withdraw(from: .submitted) == .withdrawn)
        for status in [DisputeStatus.won, .lost, .withdrawn] {
            #expect(throws: DomainError.self) { try DisputeTransitions.withdraw(from: status) }
            #expect(throws: DomainError.self) { try DisputeTransitions.submit(from: status) }
        }
        #expect(throws: DomainError.self) { try DisputeTransitions.resolve(from: .opened, .lost) }
        #expect(throws: DomainError.self) { try ReconciliationTransitions.assign(from: .resolved) }
    }
}
