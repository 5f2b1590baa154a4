import Testing
@testable import ZentraCore

@Suite struct LedgerTests {
    let usd = Currency(code: "USD")!
    let jpy = Currency(code: "JPY")!
    let a = LedgerAccountID(unchecked: "lacct_a")
    let b = LedgerAccountID(unchecked: "lacct_b")
    let c = LedgerAccountID(unchecked: "lacct_c")

    @Test func balancedEntryIsAccepted() throws {
        let entry = try JournalEntryDraft(description: "hold", postings: [
            .debit(a, Money(minor: 125_000, currency: usd)), .credit(b, Money(minor: 100_000, currency: usd)),
            .credit(c, Money(minor: 25_000, currency: usd)),
        ])
        #expect(try entry.totals(for: a) == (125_000, 0))
        #expect(try entry.totals(for: c) == (0, 25_000))
    }

    @Test func unbalancedEntryIsRefused() {
        #expect(throws: DomainError.self) {
            try JournalEntryDraft(description: "bad", postings: [
                .debit(a, Money(minor: 100, currency: usd)), .credit(b, Money(minor: 99, currency: usd)),
            ])
        }
    }

    @Test func entryMustBalanceInEveryCurrency() {
        // 100 USD against 100 JPY sums to zero as numbers but balances in neither currency.
        #expect(throws: DomainError.self) {
            try JournalEntryDraft(description: "fx", postings: [
                .debit(a, Money(minor: 100, currency: usd)), .credit(b, Money(minor: 100, currency: jpy)),
            ])
        }
        #expect(throws: Never.self) {
            try JournalEntryDraft(description: "fx", postings: [
                .debit(a, Money(minor: 100, currency: usd)), .credit(b, Money(minor: 100, currency: usd)),
                .debit(c, Money(minor: 15_000, currency: jpy)), .credit(a, Money(minor: 15_000, currency: jpy)),
            ])
        }
    }

    @Test func zeroNegativeAndLonelyPostingsAreRefused() {
        #expect(throws: DomainError.self) {
            try JournalEntryDraft(description: "zero", postings: [.debit(a, Money(minor: 0, currency: usd)), .credit(b, Money(minor: 0, currency: usd))])
        }
        #expect(throws: DomainError.self) {
            try JournalEntryDraft(description: "negative", postings: [.debit(a, Money(minor: -5, currency: usd)), .credit(b, Money(minor: -5, currency: usd))])
        }
        #expect(throws: DomainError.self) { try JournalEntryDraft(description: "one", postings: [.debit(a, Money(minor: 5, currency: usd))]) }
    }

    @Test func depositRecipeDebitsFundingAndCreditsTheCustomer() throws {
        let entry = try LedgerRecipes.deposit(amount: Money(minor: 500, currency: usd), funding: a, customerAvailable: b, reference: "r")
        #expect(entry.postings == [.debit(a, Money(minor: 500, currency: usd)), .credit(b, Money(minor: 500, currency: usd))])
    }

    @Test func balancesFollowTheNormalSide() throws {
        #expect(try NormalBalance.credit.balance(debits: 30, credits: 100) == 70)
        #expect(try NormalBalance.debit.balance(debits: 30, credits: 100) == -70)
        #expect(throws: DomainError.self) { try NormalBalance.credit.balance(debits: Int64.min, credits: 1) }
    }
}
