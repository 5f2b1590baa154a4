import ZentraCore

/// Input checks shared by every use case; each failure names the parameter.
enum Validate {
    static func text(_ value: String, _ param: String, max: Int = 200) throws -> String {
        let trimmed = value.trimming(.whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw DomainError.parameterInvalid(param, "must not be empty") }
        guard trimmed.count <= max else { throw DomainError.parameterInvalid(param, "must be at most \(max) characters") }
        return trimmed
    }

    static func email(_ value: String, _ param: String = "email") throws -> String {
        let email = try text(value, param, max: 320)
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !email.contains(" ") else {
            throw DomainError.parameterInvalid(param, "must be an email address")
        }
        return email
    }

    static func currency(_ code: String, _ param: String = "currency") throws -> Currency {
        guard let currency = Currency(code: code.uppercased()) else { throw DomainError.invalidCurrency(code, param: param) }
        return currency
    }

    static func enumValue<E: RawRepresentable & CaseIterable>(_ raw: String, _ param: String, as _: E.Type = E.self) throws -> E
    where E.RawValue == String {
        guard let value = E(rawValue: raw) else {
            throw DomainError.parameterInvalid(param, "must be one of \(E.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return value
    }
}

import Foundation
