/// An amount of money: a count of minor units in one currency. Never a floating-point number.
public struct Money: Hashable, Sendable {
    public let minor: Int64
    public let currency: Currency

    public init(minor: Int64, currency: Currency) {
        self.minor = minor
        self.currency = currency
    }

    public static func zero(_ currency: Currency) -> Money { Money(minor: 0, currency: currency) }

    /// Adds two amounts of one currency; throws instead of wrapping or trapping on overflow.
    public func adding(_ other: Money) throws(DomainError) -> Money {
        try requireSameCurrency(other)
        return Money(minor: try MinorUnits.add(minor, other.minor), currency: currency)
    }

    public func subtracting(_ other: Money) throws(DomainError) -> Money {
        try requireSameCurrency(other)
        return Money(minor: try MinorUnits.subtract(minor, other.minor), currency: currency)
    }

    private func requireSameCurrency(_ other: Money) throws(DomainError) {
        guard other.currency == currency else {
            throw DomainError.currencyMismatch(expected: currency.code, got: other.currency.code)
        }
    }
}

/// Overflow-checked arithmetic on raw minor-unit counts.
public enum MinorUnits {
    public static func add(_ a: Int64, _ b: Int64) throws(DomainError) -> Int64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        guard !overflow else { throw DomainError.amountOverflow() }
        return sum
    }

    public static func subtract(_ a: Int64, _ b: Int64) throws(DomainError) -> Int64 {
        let (difference, overflow) = a.subtractingReportingOverflow(b)
        guard !overflow else { throw DomainError.amountOverflow() }
        return difference
    }

    /// Validates a client-supplied amount: strictly positive (zero only where `allowZero`).
    public static func requirePositive(_ amount: Int64, param: String, allowZero: Bool = false) throws(DomainError) {
        guard amount > 0 || (allowZero && amount == 0) else {
            throw DomainError.parameterInvalid(param, "must be \(allowZero ? "zero or more" : "a positive integer") (minor units)")
        }
    }
}
