import Foundation
import Testing
import ZentraClient

/// Every namespace of the SDK, at least once, against a live server: the calls decode what the
/// server answers and do what they say.
@Suite struct NamespaceTests {
    @Test func everyNamespaceWorksEndToEnd() async throws {
        try await LiveServer.run { server in
            let zentra = server.client()

            // Tenant and API keys.
            #expect(try await zentra.tenant.update(timeZone: "Europe/Berlin").timeZone == "Europe/Berlin")
            #expect(try await zentra.tenant.get().timeZone == "Europe/Berlin")
            let networkKey = try #require(try await zentra.apiKeys.create(role: .network, name: "network").apiKey)
            let operatorKey = try #require(try await zentra.apiKeys.create(role: .operator, name: "ops").apiKey)
            let spare = try await zentra.apiKeys.create(role: .developer, name: "spare")
            let network = server.client(key: networkKey)
            let ops = server.client(key: operatorKey)
            #expect(try await Self.all(zentra.apiKeys.list()).contains { $0.id == spare.id && $0.role == .developer })
            #expect(try await zentra.apiKeys.revoke(spare.id).revokedAt != nil)
            let revoked = try await SeedCallTests.error { try await server.client(key: spare.apiKey).tenant.get() }
            #expect(revoked.code == .unauthenticated && revoked.status == 401)

            // Customers (KYC by an operator) and accounts.
            let customer = try await zentra.customers.create(name: "Ada", email: "ada@example.com")
            #expect(customer.kycStatus == .pending)
            #expect(try await ops.customers.updateKYC(customer.id, status: .verified).kycStatus == .verified)
            #expect(try await zentra.customers.get(customer.id).kycStatus == .verified)
            #expect(try await Self.all(zentra.customers.list()).map(\.id) == [customer.id])
            let account = try await zentra.accounts.create(customer: customer.id, currency: "USD")
            let deposit = try await zentra.accounts.deposit(account.id, amountMinor: 100_000, transactionReference: "dep-1")
            #expect(deposit.amountMinor == 100_000 && deposit.account == account.id)
            #expect(try await zentra.accounts.get(account.id).availableMinor == 100_000)
            #expect(try await Self.all(zentra.accounts.list()).map(\.id) == [account.id])

            // A program whose reviews answer approved, and a card of it.
            let program = try await zentra.cardPrograms.create(
                name: "Travel", currency: "USD", bin: "42424242", sensitiveDetailsEnabled: true,
                spendControls: SpendControls(blockedMccs: ["gambling"]), reviewRules: [.amountOver(40_000)], reviewOutcome: .approve)
            #expect(program.reviewRules == [.amountOver(40_000)] && program.reviewOutcome == .approve)
            #expect(try await zentra.cardPrograms.get(program.id).bin == "42424242")
            #expect(try await Self.all(zentra.cardPrograms.list()).count == 1)
            let card = try await zentra.cards.issue(customer: customer.id, account: account.id)
            _ = try await zentra.cards.fund(card.id, amountMinor: 60_000, transactionReference: "fund-1")
            #expect(try await zentra.cards.get(card.id).spend != nil, "a retrieved card shows its spend per window")
            #expect(try await Self.all(zentra.cards.list(customer: customer.id)).map(\.id) == [card.id])
            #expect(try await zentra.cards.lock(card.id, reason: "lost").status == .locked)
            #expect(try await Self.all(zentra.cards.list(status: .locked)).map(\.id) == [card.id])
            #expect(try await zentra.cards.unlock(card.id).status == .active)
            let secured = try await zentra.cards.updateSecurity(card.id, CardSecurity(blockedChannels: [.atm]))
            #expect(secured.spendControls?.blockedChannels == [.atm])
            let details = try await zentra.cards.sensitiveDetails(card.id)
            #expect(details.pan.count == 16 && details.pan.hasSuffix(card.last4) && details.cvv.count == 3)

            // Authorizations: the network asks, an operator reviews.
            let small = try await network.authorizations.create(card: card.id, amountMinor: 1_000, currency: "USD", merchant: .coffee,
                                                                channel: .inStore, networkReference: "nr-1")
            #expect(small.status == .approved && small.responseCode == "00" && small.hold?.amountMinor == 1_000)
            let blocked = try await network.authorizations.create(
                card: card.id, amountMinor: 500, currency: "USD",
                merchant: Merchant(id: "m_2", name: "Casino", mcc: "7995", country: "US"), channel: .online, networkReference: "nr-2")
            #expect(blocked.status == .declined && blocked.declineReason == .merchantCategoryBlocked)
            let large = try await network.authorizations.create(card: card.id, amountMinor: 45_000, currency: "USD", merchant: .coffee,
                                                                channel: .online, networkReference: "nr-3")
            #expect(large.status == .review)
            #expect(try await Self.all(zentra.authorizations.list(status: .review)).map(\.id) == [large.id])
            #expect(try await ops.authorizations.review(large.id, decision: .approve, note: "known customer").status == .approved)
            #expect(try await zentra.authorizations.get(small.id).policy?.rules?.isEmpty == false)
            #expect(try await Self.all(zentra.authorizations.list(card: card.id)).count == 3)
            #expect(try await network.authorizations.reverse(small.id, amountMinor: 200).hold?.amountMinor == 800)
            #expect(try await network.authorizations.increment(small.id, amountMinor: 100).hold?.amountMinor == 900)
            let authorizationEvidence = try await zentra.authorizations.evidence(small.id)
            #expect(try await zentra.evidence.verify(authorizationEvidence).algorithm == "ed25519")
            #expect(authorizationEvidence.json["authorization"]?.stringValue == small.id)

            // Clearing: one record that differs (a reconciliation case), one file.
            let clearing = try await network.clearings.create(clearingID: "clr-1", card: card.id, amountMinor: 1_000, currency: "USD",
                                                              merchant: .coffee, authorization: small.id)
            #expect(clearing.status == .mismatched && clearing.deltaMinor == 100 && clearing.clearingID == "clr-1")
            #expect(try await zentra.clearings.get(clearing.id).transaction == clearing.transaction)
            #expect(try await Self.all(zentra.clearings.list(status: .mismatched)).map(\.id) == [clearing.id])
            try await zentra.evidence.verify(try await zentra.clearings.evidence(clearing.id))
            let csv = "clearing_id,authorization,network_reference,card,amount_minor,currency,merchant_id,merchant_name,mcc,country\n"
                + "clr-2,\(large.id),,\(card.id),45000,USD,m_1,Blue Bottle,5814,US\n"
            let run = try await network.clearings.uploadFile(fileID: "file-1", csv: Data(csv.utf8))
            #expect(run.counts?.matched == 1 && run.lines?.first?.result == "matched")
            #expect(try await zentra.clearings.file("file-1").records == 1)

            // Reconciliation.
            let caseID = try #require(clearing.reconciliationCase)
            #expect(try await Self.all(zentra.reconciliationCases.list(status: .open)).map(\.id) == [caseID])
            #expect(try await zentra.reconciliationCases.get(caseID).deltaMinor == 100)
            try await zentra.evidence.verify(try await zentra.reconciliationCases.evidence(caseID))
            #expect(try await ops.reconciliationCases.assign(caseID, owner: "ops@example.com").status == .assigned)
            let resolved = try await ops.reconciliationCases.resolve(caseID, resolution: .accepted, note: "tip")
            #expect(resolved.status == .resolved && resolved.resolution == .accepted)

            // Transactions and disputes.
            let transactionID = try #require(clearing.transaction)
            #expect(try await Self.all(zentra.transactions.list(card: card.id)).count == 2)
            #expect(try await zentra.transactions.get(transactionID).clearings?.map(\.id) == [clearing.id])
            let dispute = try await zentra.disputes.create(transaction: transactionID, reason: .fraudulent, amountMinor: 500,
                                                           evidence: ["note": "not me", "receipt_count": 0], provisionalCredit: true)
            #expect(dispute.status == .opened && dispute.evidence?["receipt_count"]?.int64Value == 0)
            #expect(try await zentra.disputes.get(dispute.id).reason == .fraudulent)
            #expect(try await Self.all(zentra.disputes.list(transaction: transactionID)).map(\.id) == [dispute.id])
            try await zentra.evidence.verify(try await zentra.disputes.evidence(dispute.id))
            #expect(try await zentra.disputes.submit(dispute.id).status == .submitted)
            #expect(try await ops.disputes.resolve(dispute.id, outcome: .won).status == .won)
            let second = try await zentra.disputes.create(transaction: transactionID, reason: .duplicate, amountMinor: 100)
            #expect(try await zentra.disputes.withdraw(second.id, note: "found it").status == .withdrawn)

            // Settlement.
            let settlement = try await network.settlements.create(currency: "USD")
            #expect(settlement.status == "closed" && settlement.clearingsMinor == 46_000)
            #expect(try await zentra.settlements.get(settlement.id).clearings?.count == 2)
            #expect(try await Self.all(zentra.settlements.list()).map(\.id) == [settlement.id])
            let nothing = try await SeedCallTests.error { try await network.settlements.create(currency: "USD") }
            #expect(nothing.code == .nothingToSettle)

            // Ledger: every account's totals, an account's entries, a journal entry.
            let ledgerAccounts = try await Self.all(zentra.ledger.accounts(pageSize: 5))
            #expect(ledgerAccounts.count > 5, "more than one page")
            #expect(ledgerAccounts.map(\.debitsMinor).reduce(0, +) == ledgerAccounts.map(\.creditsMinor).reduce(0, +))
            let someAccount = try #require(ledgerAccounts.first { $0.debitsMinor > 0 })
            #expect(try await zentra.ledger.account(someAccount.id).balanceMinor == someAccount.balanceMinor)
            #expect(try await Self.all(zentra.ledger.entries(account: someAccount.id)).isEmpty == false)
            let journal = try await zentra.ledger.journalEntry(try #require(clearing.journalEntry))
            let debits: Int64 = journal.entries.filter { $0.direction == .debit }.map(\.amountMinor).reduce(0, +)
            let credits: Int64 = journal.entries.filter { $0.direction == .credit }.map(\.amountMinor).reduce(0, +)
            #expect(debits == credits && debits > 0)

            // Events and webhook endpoints.
            let issued = try await Self.all(zentra.events.list(type: "card.issued"))
            #expect(issued.count == 1 && issued[0].type == "card.issued")
            #expect(try issued[0].object(as: Card.self).id == card.id)
            #expect(try await zentra.events.get(issued[0].id).sequence == issued[0].sequence)
            let endpoint = try await zentra.webhookEndpoints.create(url: "http://127.0.0.1:9/hooks", eventTypes: ["card.*"], description: "cards")
            #expect(endpoint.secret?.hasPrefix("whsec_") == true && endpoint.status == .enabled)
            #expect(try await zentra.webhookEndpoints.get(endpoint.id).secret == nil, "the secret is shown once")
            #expect(try await Self.all(zentra.webhookEndpoints.list()).map(\.id) == [endpoint.id])
            #expect(try await zentra.webhookEndpoints.update(endpoint.id, description: "all card events").description == "all card events")
            let rotated = try await zentra.webhookEndpoints.rotateSecret(endpoint.id, gracePeriodSeconds: 60)
            #expect(rotated.secret != endpoint.secret && rotated.previousSecretExpiresAt != nil)
            #expect(try await zentra.webhookEndpoints.disable(endpoint.id).status == .disabled)
            #expect(try await zentra.webhookEndpoints.enable(endpoint.id).status == .enabled)
            let redelivered = try await zentra.events.redeliver(issued[0].id, webhookEndpoint: endpoint.id)
            #expect(redelivered.count == 1 && redelivered[0].event == issued[0].id && redelivered[0].redelivery == true)
            #expect(try await Self.all(zentra.webhookEndpoints.deliveries(endpoint.id)).contains { $0.id == redelivered[0].id })
            #expect(try await zentra.webhookEndpoints.delete(endpoint.id).deleted)

            // Runtime intents: one that runs a deposit, one derived from a decision.
            let intent = try await zentra.runtime.intents.create(
                intentID: "top-up-1", operation: .deposit(account: account.id, amountMinor: 5_000, transactionReference: "dep-2"))
            #expect(intent.steps.contains { $0.journalEntries?.isEmpty == false })
            #expect(try await zentra.runtime.intents.get("top-up-1").id == intent.id)
            #expect(try await Self.all(zentra.runtime.intents.list()).contains { $0.id == intent.id })
            #expect(try await zentra.runtime.intents.get("int_" + small.id).subject == small.id)

            // Audit log, evidence keys, closing a card.
            #expect(try await zentra.auditLog.list().firstPage().data.isEmpty == false)
            #expect(try await zentra.auditLog.verify().valid)
            #expect(try await zentra.evidence.keys().count == 1)
            #expect(try await ops.cards.close(card.id, reason: "customer left").status == .closed)
        }
    }

    static func all<Element>(_ list: ZentraList<Element>) async throws -> [Element] {
        var elements: [Element] = []
        for try await element in list { elements.append(element) }
        return elements
    }
}
