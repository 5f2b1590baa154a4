import Testing
@testable import ZentraCore

@Suite struct MoneyTests {
    @Test func currencyTableKnowsMinorUnitExponents() throws {
        #expect(Currency(code: "USD")?.exponent == 2)
        #expect(Currency(code: "JPY")?.exponent == 0)
        #expect(Currency(code: "KWD")?.exponent == 3)
        #expect(Currency(code: "EUR")?.numericCode == 978)
        #expect(Currency(numericCode: 840)?.code == "USD")
        #expect(Currency(code: "XYZ") == nil)
        #expect(Currency(code: "usd") == nil, "codes are upper-case ISO 4217")
    }

    @Test func addingRefusesToOverflow() throws {
        let usd = try #require(Currency(code: "USD"))
        let nearMax = Money(minor: Int64.max - 1, currency: usd)
        #expect(try nearMax.adding(Money(minor: 1, currency: usd)).minor == Int64.max)
        #expect(throws: DomainError.amountOverflow()) { try nearMax.adding(Money(minor: 2, currency: usd)) }
        #expect(throws: DomainError.amountOverflow()) { try MinorUnits.subtract(Int64.min, 1) }
    }

    @Test func arithmeticRefusesMixedCurrencies() throws {
        let usd = Money(minor: 100, currency: try #require(Currency(code: "USD")))
        let eur = Money(minor: 100, currency: try #require(Currency(code: "EUR")))
        #expect(throws: DomainError.self) { try usd.adding(eur) }
    }

    @Test func requirePositiveNamesTheParameter() {
        #expect(throws: DomainError.parameterInvalid("amount_minor", "must be a positive integer (minor units)")) {
            try MinorUnits.requirePositive(0, param: "amount_minor")
        }
        #expect(throws: Never.self) { try MinorUnits.requirePositive(0, param: "x", allowZero: true) }
    }

    @Test func timestampsRenderAsRFC3339UTC() {
        #expect(Timestamp(microseconds: 0).description == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp(microseconds: 1_795_429_946_123_456).description == "2026-11-23T10:32:26.123Z")
        #expect(Timestamp(microseconds: 951_782_400_000_000).description == "2000-02-29T00:00:00.000Z")
    }

    @Test func timestampsParseWhatTheyPrint() {
        for micros: Int64 in [0, 951_782_400_000_000, 1_795_429_946_123_000, 4_102_444_799_999_000] {
            #expect(Timestamp(rfc3339: Timestamp(microseconds: micros).description)?.microseconds == micros)
        }
        #expect(Timestamp(rfc3339: "2026-11-23T10:32:26Z")?.microseconds == 1_795_429_946_000_000)
        #expect(Timestamp(rfc3339: "2026-11-23T10:32:26.5Z")?.microseconds == 1_795_429_946_500_000)
        #expect(Timestamp(rfc3339: "2026-13-23T10:32:26Z") == nil)
        #expect(Timestamp(rfc3339: "yesterday") == nil)
    }

    @Test func identifiersCarryTheirPrefix() {
        #expect(CustomerID("cus_abc") != nil)
        #expect(CustomerID("acct_abc") == nil, "an account id is not a customer id")
        #expect(CustomerID("cus_") == nil)
        #expect(CustomerID("cus_a'b") == nil)
    }
}
