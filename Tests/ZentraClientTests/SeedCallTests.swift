import Foundation
import Testing
import ZentraClient

/// The calls `docs/sdk.md` shows, in Swift, against a live server.
@Suite struct SeedCallTests {
    @Test func theSeedCallsWorkAsWritten() async throws {
        try await LiveServer.run { server in
            let zentra = server.client()
            let customer = try await zentra.customers.create(name: "Grace Hopper", email: "grace@example.com", kycStatus: .verified)
            let account = try await zentra.accounts.create(customer: customer.id, currency: "USD")
            _ = try await zentra.accounts.deposit(account.id, amountMinor: 80_000, transactionReference: "dep-1")
            _ = try await zentra.cardPrograms.create(name: "Everyday", currency: "USD", bin: "424242")

            let card = try await zentra.cards.issue(customer: customer.id, account: account.id,
                                                    spendLimitMinor: 250_000, idempotencyKey: "card_live_042")
            #expect(card.id.hasPrefix("card_") && card.status == .active && card.last4.count == 4)
            #expect(card.spendControls?.monthlyMinor == 250_000, "spendLimitMinor is the monthly limit")
            let again = try await zentra.cards.issue(customer: customer.id, account: account.id,
                                                     spendLimitMinor: 250_000, idempotencyKey: "card_live_042")
            #expect(again.id == card.id, "the same key answers the same card")

            let funding = try await zentra.cards.fund(card.id, amountMinor: 50_000, source: "wallet",
                                                      transactionReference: "fund-1", idempotencyKey: "fund-1")
            #expect(funding.amountMinor == 50_000 && funding.card == card.id)
            #expect(try await zentra.cards.get(card.id).availableMinor == 50_000)
            #expect(try await zentra.accounts.get(account.id).availableMinor == 30_000)

            let intent = try await zentra.runtime.intents.create(intentID: "card_issue_customer_482",
                scope: "workspace_scope", moneyModel: "minor_units + ledger_currency",
                primitives: ["policy", "ledger", "events"])
            #expect(intent.intentID == "card_issue_customer_482" && intent.scope == "workspace_scope")
            #expect(intent.steps.map(\.state).last == "completed")
        }
    }

    @Test func theSeedErrorCodesAreTypedCodes() async throws {
        try await LiveServer.run { server in
            let zentra = server.client()
            let program = try await zentra.cardPrograms.create(name: "One each", currency: "USD", bin: "424242", maxCardsPerCustomer: 1)
            let pending = try await zentra.customers.create(name: "Pending", email: "p@example.com", kycStatus: .pending)
            let pendingAccount = try await zentra.accounts.create(customer: pending.id, currency: "USD")
            let kyc = try await Self.error { try await zentra.cards.issue(customer: pending.id, account: pendingAccount.id, program: program.id) }
            #expect(kyc.code == .kycRequired && kyc.status == 422 && kyc.param == "customer")
            #expect(kyc.requestID?.isEmpty == false && !kyc.message.isEmpty)

            let verified = try await zentra.customers.create(name: "Verified", email: "v@example.com", kycStatus: .verified)
            let euros = try await zentra.accounts.create(customer: verified.id, currency: "EUR")
            let currency = try await Self.error { try await zentra.cards.issue(customer: verified.id, account: euros.id, program: program.id) }
            #expect(currency.code == .invalidCurrency && currency.status == 422)

            let dollars = try await zentra.accounts.create(customer: verified.id, currency: "USD")
            let card = try await zentra.cards.issue(customer: verified.id, account: dollars.id, program: program.id)
            let limit = try await Self.error { try await zentra.cards.issue(customer: verified.id, account: dollars.id, program: program.id) }
            #expect(limit.code == .cardLimitReached && limit.status == 422)

            let funds = try await Self.error {
                try await zentra.cards.fund(card.id, amountMinor: 1_000, transactionReference: "more-than-there-is")
            }
            #expect(funds.code == .insufficientFunds && funds.status == 402)

            // The switch of `docs/sdk.md`, "Errors", compiles and lands in the right branch.
            let branch = switch funds.code {
            case .insufficientFunds, .kycRequired, .cardLimitReached, .invalidCurrency: "money"
            default: "other"
            }
            #expect(branch == "money")
        }
    }

    /// The error `body` throws; a failure if it throws none or another kind.
    static func error(_ body: () async throws -> some Any) async throws -> ZentraError {
        do {
            _ = try await body()
        } catch let error as ZentraError {
            return error
        }
        Issue.record("expected a ZentraError")
        throw CancellationError()
    }
}
