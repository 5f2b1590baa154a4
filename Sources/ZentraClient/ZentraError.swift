import Foundation

/// An error the Zentra API answered: `{"error": {type, code, message, param, request_id}}` with
/// its HTTP status. Switch on `code`; an error code this SDK does not know is `.unknown(code)`.
///
/// Failures that never reached an answer (a refused connection, a timeout) are not a
/// `ZentraError`: the transport's own error is thrown once the retries are spent.
public struct ZentraError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Every error code the server documents (`docs/sdk.md`, Errors).
    public enum Code: OpenEnum {
        // 400
        case invalidRequest, parameterMissing, parameterInvalid, amountOverflow
        // 401, 403
        case unauthenticated, forbidden, sensitiveDetailsUnavailable
        // 402 and the other money errors
        case insufficientFunds, kycRequired, cardLimitReached, invalidCurrency, currencyMismatch
        // 404
        case resourceMissing
        // 409
        case idempotencyRequestInProgress, transactionReferenceConflict, cardClosed, resourceConflict, intentExists, clearingIdReused, clearingFileInProgress, nothingToSettle,
             disputeInvalidState, reconciliationCaseResolved, authorizationNotApproved, authorizationNotHeld,
             authorizationNotInReview, notReplayable, noWebhookEndpoint, webhookEndpointDisabled,
             webhookEndpointNotSubscribed
        // 413, 415
        case payloadTooLarge, unsupportedMediaType
        // 422
        case idempotencyKeyReused, networkReferenceReused, unknownEventType
        // 429, 503 (`concurrent_update`: retry), 500
        case rateLimited, serviceUnavailable, concurrentUpdate, internalError, invariantViolated
        case unknown(String)

        public static let known: [Code] = [
            .invalidRequest, .parameterMissing, .parameterInvalid, .amountOverflow,
            .unauthenticated, .forbidden, .sensitiveDetailsUnavailable,
            .insufficientFunds, .kycRequired, .cardLimitReached, .invalidCurrency, .currencyMismatch,
            .resourceMissing,
            .idempotencyRequestInProgress, .transactionReferenceConflict, .cardClosed, .resourceConflict, .intentExists, .clearingIdReused, .clearingFileInProgress, .nothingToSettle,
            .disputeInvalidState, .reconciliationCaseResolved, .authorizationNotApproved, .authorizationNotHeld,
            .authorizationNotInReview, .notReplayable, .noWebhookEndpoint, .webhookEndpointDisabled,
            .webhookEndpointNotSubscribed,
            .payloadTooLarge, .unsupportedMediaType,
            .idempotencyKeyReused, .networkReferenceReused, .unknownEventType,
            .rateLimited, .serviceUnavailable, .concurrentUpdate, .internalError, .invariantViolated,
        ]
    }

    /// The HTTP status (402 for `insufficient_funds`, 422 for the other money errors, ...).
    public let status: Int
    public let code: Code
    /// The class of failure (`invalid_request_error`, `card_error`, ...), as the server names it.
    public let type: String
    public let message: String
    /// The request parameter at fault, when there is one.
    public let param: String?
    /// The `Request-Id` of the answer: quote it when asking for help.
    public let requestID: String?
    /// Seconds the server asked to wait (`Retry-After`), on 429 and 503.
    public let retryAfterSeconds: Int?

    public var description: String {
        "\(status) \(code.rawValue): \(message)" + (param.map { " (param \($0))" } ?? "") + (requestID.map { " [\($0)]" } ?? "")
    }

    public init(status: Int, code: Code, type: String, message: String, param: String? = nil,
                requestID: String? = nil, retryAfterSeconds: Int? = nil) {
        self.status = status
        self.code = code
        self.type = type
        self.message = message
        self.param = param
        self.requestID = requestID
        self.retryAfterSeconds = retryAfterSeconds
    }

    /// The error an answer carries; a body that is not the error object (a proxy's page) still
    /// makes an error, named by its status.
    init(status: Int, body: [UInt8], requestID: String?, retryAfterSeconds: Int?) {
        struct Envelope: Decodable {
            struct Body: Decodable {
                let type: String?
                let code: String?
                let message: String?
                let param: String?
                let request_id: String?
            }
            let error: Body
        }
        let envelope = try? JSONCoding.decoder.decode(Envelope.self, from: Data(body))
        let fallback: Code = switch status {
        case 401: .unauthenticated
        case 403: .forbidden
        case 404: .resourceMissing
        case 413: .payloadTooLarge
        case 429: .rateLimited
        case 503: .serviceUnavailable
        case 500...: .internalError
        default: .unknown("http_\(status)")
        }
        self.init(
            status: status, code: envelope?.error.code.map(Code.init(rawValue:)) ?? fallback,
            type: envelope?.error.type ?? "api_error",
            message: envelope?.error.message ?? "HTTP \(status) with no error object.",
            param: envelope?.error.param, requestID: envelope?.error.request_id ?? requestID,
            retryAfterSeconds: retryAfterSeconds)
    }
}
