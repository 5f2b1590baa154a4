/// The one error type of Zentra. Every failure a client can cause is a `DomainError` with a stable
/// `code`; the HTTP layer maps `kind` to a status once (`ErrorResponse`).
public struct DomainError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The class of failure; decides the HTTP status and the `type` field.
    public enum Kind: String, Sendable, Hashable {
        case invalidRequest          // 400
        case unauthenticated         // 401
        case paymentRequired         // 402: the money error insufficient_funds
        case forbidden               // 403
        case notFound                // 404
        case conflict                // 409
        case payloadTooLarge         // 413
        case unsupportedMediaType    // 415
        case unprocessable           // 422
        case rateLimited             // 429
        case unavailable             // 503
        case internalError           // 500: a bug; never carries internal detail
    }

    public let kind: Kind
    public let code: String
    public let message: String
    public let param: String?

    public init(_ kind: Kind, code: String, message: String, param: String? = nil) {
        self.kind = kind
        self.code = code
        self.message = message
        self.param = param
    }

    public var description: String { "\(code): \(message)" + (param.map { " (param \($0))" } ?? "") }
}

extension DomainError {
    public static func invalidRequest(_ message: String) -> DomainError {
        DomainError(.invalidRequest, code: "invalid_request", message: message)
    }

    public static func parameterMissing(_ param: String) -> DomainError {
        DomainError(.invalidRequest, code: "parameter_missing", message: "Missing required parameter: \(param).", param: param)
    }

    public static func parameterInvalid(_ param: String, _ reason: String) -> DomainError {
        DomainError(.invalidRequest, code: "parameter_invalid", message: "Invalid \(param): \(reason).", param: param)
    }

    public static func resourceMissing(_ what: String, id: String, param: String? = nil) -> DomainError {
        DomainError(.notFound, code: "resource_missing", message: "No such \(what): '\(id)'.", param: param)
    }

    public static func unauthenticated(_ message: String = "A valid API key is required: Authorization: Bearer <key>.") -> DomainError {
        DomainError(.unauthenticated, code: "unauthenticated", message: message)
    }

    public static func forbidden(_ message: String) -> DomainError {
        DomainError(.forbidden, code: "forbidden", message: message)
    }

    public static func amountOverflow(param: String? = "amount_minor") -> DomainError {
        DomainError(.invalidRequest, code: "amount_overflow",
                    message: "The amount would overflow a 64-bit count of minor units.", param: param)
    }

    public static func currencyMismatch(expected: String, got: String, param: String? = "currency") -> DomainError {
        DomainError(.unprocessable, code: "currency_mismatch",
                    message: "Currency \(got) does not match \(expected).", param: param)
    }

    public static func invalidCurrency(_ code: String, param: String = "currency") -> DomainError {
        DomainError(.unprocessable, code: "invalid_currency",
                    message: "'\(code)' is not a supported ISO 4217 currency code.", param: param)
    }

    public static func insufficientFunds(available: Int64, requested: Int64, param: String? = "amount_minor") -> DomainError {
        DomainError(.paymentRequired, code: "insufficient_funds",
                    message: "Insufficient funds: \(available) minor units available, \(requested) requested.", param: param)
    }

    public static func kycRequired(_ customer: String) -> DomainError {
        DomainError(.unprocessable, code: "kyc_required",
                    message: "Customer \(customer) must be KYC verified.", param: "customer")
    }

    public static func transactionReferenceConflict(_ reference: String) -> DomainError {
        DomainError(.conflict, code: "transaction_reference_conflict",
                    message: "transaction_reference '\(reference)' was already used for a different request.",
                    param: "transaction_reference")
    }

    public static let idempotencyKeyReused = DomainError(
        .unprocessable, code: "idempotency_key_reused",
        message: "This idempotency key was already used with a different request.", param: "idempotency_key")

    public static let idempotencyRequestInProgress = DomainError(
        .conflict, code: "idempotency_request_in_progress",
        message: "A request with this idempotency key is still in progress; retry later.", param: "idempotency_key")

    public static let unavailable = DomainError(
        .unavailable, code: "service_unavailable", message: "The database is unreachable; retry later.")

    public static let internalError = DomainError(
        .internalError, code: "internal_error", message: "An internal error occurred; it has been logged.")

    /// A broken invariant (an unbalanced journal entry, a negative hold): a bug, never the client's doing.
    public static func invariantViolated(_ what: String) -> DomainError {
        DomainError(.internalError, code: "invariant_violated", message: "Invariant violated: \(what)")
    }
}
