import Foundation
import Testing
import ZentraCore
import ZentraStorage
import ZentraTestSupport

@Suite struct MoneyFlowTests {
    @Test(arguments: Backend.allCases)
    func depositCreditsTheAccountAndBalancesTheLedger(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let customer = try await env.createCustomer()
            let account = try await env.createAccount(customer: customer)
            let first = try await env.deposit(account, 125_000, reference: "dep_1")
            #expect(first.status == .created)
            #expect(first.json["amount_minor"] as? Int == 125_000)
            #expect(first.json["currency"] as? String == "USD")
            #expect(try await env.deposit(account, 2_500, reference: "dep_2").status == .created)

            let balances = try await env.get("/accounts/\(account)")
            #expect(balances.json["available_minor"] as? Int == 127_500)
            #expect(balances.json["reserved_minor"] as? Int == 0)
            #expect(balances.json["posted_minor"] as? Int == 127_500)

            // Per currency, the debits of all ledger accounts equal their credits.
            let ledger = try await env.get("/ledger/accounts?limit=100").list
            let debits = ledger.map { $0["debits_minor"] as! Int }.reduce(0, +)
            let credits = ledger.map { $0["credits_minor"] as! Int }.reduce(0, +)
            #expect(debits == 127_500 && credits == 127_500)
            let funding = try #require(ledger.first { $0["kind"] as? String == "funding" })
            #expect(funding["balance_minor"] as? Int == 127_500)

            // The journal entry is retrievable and balanced, and the account's entries list it.
            let entryID = try #require(first.json["journal_entry"] as? String)
            let entry = try await env.get("/ledger/journal-entries/\(entryID)")
            let lines = try #require(entry.json["entries"] as? [[String: Any]])
            #expect(lines.count == 2)
            #expect(Set(lines.map { $0["direction"] as! String }) == ["debit", "credit"])
            let available = try #require((balances.json["ledger_accounts"] as? [String: Any])?["available"] as? String)
            let entries = try await env.get("/ledger/accounts/\(available)/entries").list
            #expect(entries.map { $0["amount_minor"] as! Int }.sorted() == [2_500, 125_000])

            let trial = try await env.store.read(tenant: env.tenant) { try await $0.ledger.trialBalance() }
            #expect(trial["USD"]?.debits == trial["USD"]?.credits)
        }
    }

    @Test(arguments: Backend.allCases)
    func zeroDecimalAndThreeDecimalCurrenciesKeepExactMinorUnits(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let customer = try await env.createCustomer()
            let yen = try await env.createAccount(customer: customer, currency: "JPY")
            let dinar = try await env.createAccount(customer: customer, currency: "KWD")
            #expect(try await env.deposit(yen, 1_250, reference: "jpy").status == .created)
            #expect(try await env.deposit(dinar, 1_250_125, reference: "kwd").status == .created)
            #expect(try await env.get("/accounts/\(yen)").json["available_minor"] as? Int == 1_250)
            #expect(try await env.get("/accounts/\(dinar)").json["available_minor"] as? Int == 1_250_125)
        }
    }

    @Test(arguments: Backend.allCases)
    func transactionReferenceNamesOneDeposit(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let account = try await env.createAccount(customer: try await env.createCustomer())
            let first = try await env.deposit(account, 1_000, reference: "ref-1")
            let again = try await env.deposit(account, 1_000, reference: "ref-1")
            #expect(again.status == .ok)
            #expect(again.id == first.id)
            let conflict = try await env.deposit(account, 999, reference: "ref-1")
            #expect(conflict.status == .conflict)
            #expect(conflict.errorCode == "transaction_reference_conflict")
            #expect(try await env.get("/accounts/\(account)").json["available_minor"] as? Int == 1_000)
        }
    }

    @Test(arguments: Backend.allCases)
    func concurrentDepositsWithOneReferenceMakeOneDeposit(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let account = try await env.createAccount(customer: try await env.createCustomer())
            let replies = try await withThrowingTaskGroup(of: TestReply.self) { group in
                for _ in 0..<10 {
                    group.addTask { try await env.deposit(account, 300, reference: "one-reference") }
                }
                return try await group.reduce(into: [TestReply]()) { $0.append($1) }
            }
            #expect(replies.filter { $0.status == .created }.count == 1, "\(replies.map(\.text))")
            #expect(replies.allSatisfy { $0.status == .created || $0.status == .ok }, "\(replies.map(\.text))")
            #expect(Set(replies.map(\.id)).count == 1)
            #expect(try await env.get("/accounts/\(account)").json["available_minor"] as? Int == 300)
        }
    }

    @Test(arguments: Backend.allCases)
    func balanceThatWouldOverflowIsRefusedAndNothingIsWritten(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let account = try await env.createAccount(customer: try await env.createCustomer())
            #expect(try await env.deposit(account, Int64.max - 10, reference: "big").status == .created)
            let before = try await env.footprint()
            let overflow = try await env.deposit(account, 11, reference: "more")
            #expect(overflow.status == .badRequest)
            #expect(overflow.errorCode == "amount_overflow")
            #expect(try await env.footprint() == before)
            #expect(try await env.get("/accounts/\(account)").json["available_minor"] as? Int == Int(Int64.max - 10))
        }
    }

    @Test(arguments: Backend.allCases)
    func kycChangesAreRecordedAndOnlyOperatorsOrAdminsMayMakeThem(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let customer = try await env.createCustomer(kyc: "pending")
            let developer = try await env.createKey(role: "developer")
            let refused = try await env.post("/customers/\(customer)/kyc", #"{"status": "verified"}"#, key: developer)
            #expect(refused.status == .forbidden)
            let operatorKey = try await env.createKey(role: "operator")
            let changed = try await env.post("/customers/\(customer)/kyc", #"{"status": "verified"}"#, key: operatorKey)
            #expect(changed.status == .ok)
            #expect(changed.json["kyc_status"] as? String == "verified")
            let invalid = try await env.post("/customers/\(customer)/kyc", #"{"status": "approved"}"#, key: operatorKey)
            #expect(invalid.status == .badRequest && invalid.errorParam == "status")
            let events = try await env.get("/events?type=customer.kyc_updated").list
            #expect(events.count == 1)
            let unknown = try await env.get("/events?type=customer.kyc_approved")
            #expect(unknown.status == .badRequest && unknown.errorCode == "parameter_invalid" && unknown.errorParam == "type",
                    "a type outside the catalog is refused, not an empty page")
        }
    }
}

@Suite struct UnitOfWorkTests {
    /// A caller that goes away mid-transaction (a client hang-up cancels its task) must not leave
    /// the database inside a transaction: the unit finishes, and the next write works.
    @Test(arguments: Backend.allCases)
    func cancelledCallerDoesNotLeaveATransactionOpen(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let store = env.store
            let scope = WriteScope(tenant: env.tenant, actor: "test", requestID: nil)
            let started = AsyncStream<Void>.makeStream(), cancelled = AsyncStream<Void>.makeStream()
            let task = Task {
                try await store.write(scope) { tx in
                    try await tx.customers.insert(Customer(id: tx.newID(), name: "Slow", email: "slow@example.com",
                                                         kycStatus: .pending, createdAt: tx.now, updatedAt: tx.now))
                    started.continuation.yield()
                    // The caller is cancelled between the unit's two writes.
                    for await _ in cancelled.stream { break }
                    try await tx.customers.updateKYC(try #require(await tx.customers.list(PageRequest(limit: 1)).data.first).id, status: .verified)
                }
            }
            for await _ in started.stream { break }
            task.cancel()
            cancelled.continuation.yield()
            _ = try? await task.value
            let next = try await env.post("/customers", #"{"name": "Next", "email": "next@example.com"}"#)
            #expect(next.status == .created, "\(next.text)")
            let customers = try await env.get("/customers").list
            #expect(customers.count == 2, "the begun unit of work finished as a whole")
            #expect(customers.contains { $0["name"] as? String == "Slow" && $0["kyc_status"] as? String == "verified" })
        }
    }
}
