import Foundation
import ZentraClient

/// A customer with a funded wallet, a card program and a card: what most tests start from.
struct Fixture: Sendable {
    let customer: Customer
    let account: Account
    let program: CardProgram
    let card: Card

    static func make(_ zentra: Zentra, deposit: Int64 = 100_000, program configure: (@Sendable (CardPrograms) async throws -> CardProgram)? = nil) async throws -> Fixture {
        let customer = try await zentra.customers.create(name: "Ada Lovelace", email: "ada@example.com", kycStatus: .verified)
        let account = try await zentra.accounts.create(customer: customer.id, currency: "USD")
        _ = try await zentra.accounts.deposit(account.id, amountMinor: deposit, transactionReference: "dep-\(UUID().uuidString)")
        let program: CardProgram
        if let configure {
            program = try await configure(zentra.cardPrograms)
        } else {
            program = try await zentra.cardPrograms.create(name: "Everyday", currency: "USD", bin: "424242")
        }
        let card = try await zentra.cards.issue(customer: customer.id, account: account.id, program: program.id, spendLimitMinor: 250_000)
        return Fixture(customer: customer, account: account, program: program, card: card)
    }
}

extension Merchant {
    static let coffee = Merchant(id: "m_1", name: "Blue Bottle", mcc: "5814", country: "US", city: "Oakland")
}
