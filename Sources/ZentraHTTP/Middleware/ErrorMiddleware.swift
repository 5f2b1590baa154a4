import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ZentraCore
import ZentraStorage

/// Outermost middleware: gives every request its `Request-Id`, and turns every error into the
/// JSON error shape of `docs/conventions.md`, once, here. Internal detail goes to the log, never
/// to the client.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let ids: any IDGenerator
    let bodyBytes_max: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.requestID = RequestKind.prefix + ids.nextBody()
        context.bodyBytes_max = bodyBytes_max
        var response: Response
        do {
            try Self.refuseControlCharacters(in: request.uri.description)
            response = try await next(request, context)
        } catch {
            let domain = ErrorMapping.domainError(for: error, logger: context.logger)
            response = ErrorMapping.response(for: domain, requestID: context.requestID)
        }
        response.headers[.requestID] = context.requestID
        // No answer is ever to be sniffed into another content type.
        response.headers[.xContentTypeOptions] = "nosniff"
        return response
    }

    /// A path or query holding a percent-encoded control character (`%00` to `%1F`, `%7F`) is a
    /// 400 before any route reads it: PostgreSQL refuses a NUL in text where SQLite would store it,
    /// and the engines must agree (a body's text is checked by `JSONBody`).
    static func refuseControlCharacters(in uri: String) throws {
        let bytes = Array(uri.utf8)
        var index = 0
        while index + 2 < bytes.count {
            if bytes[index] == UInt8(ascii: "%"), let high = Hex.value(bytes[index + 1]), let low = Hex.value(bytes[index + 2]) {
                let byte = high << 4 | low
                if byte < 0x20 || byte == 0x7F {
                    let part = bytes[..<index].contains(UInt8(ascii: "?")) ? "query" : "path"
                    throw DomainError.parameterInvalid(part, "must not contain control characters")
                }
                index += 3
            } else {
                index += 1
            }
        }
    }
}

enum ErrorMapping {
    static func status(of kind: DomainError.Kind) -> HTTPResponse.Status {
        switch kind {
        case .invalidRequest: .badRequest
        case .unauthenticated: .unauthorized
        case .paymentRequired: HTTPResponse.Status(code: 402)
        case .forbidden: .forbidden
        case .notFound: .notFound
        case .conflict: .conflict
        case .payloadTooLarge: .contentTooLarge
        case .unsupportedMediaType: .unsupportedMediaType
        case .unprocessable: .unprocessableContent
        case .rateLimited: .tooManyRequests
        case .unavailable: .serviceUnavailable
        case .internalError: .internalServerError
        }
    }

    /// The `type` field, Stripe's way: what kind of problem, for a client's first branch.
    static func type(of error: DomainError) -> String {
        if error.code.hasPrefix("idempotency_") { return "idempotency_error" }
        switch error.kind {
        case .invalidRequest, .payloadTooLarge, .unsupportedMediaType, .notFound, .unprocessable, .conflict:
            return "invalid_request_error"
        case .unauthenticated, .forbidden: return "authentication_error"
        case .paymentRequired: return "card_error"
        case .rateLimited: return "rate_limit_error"
        case .unavailable, .internalError: return "api_error"
        }
    }

    /// Every failure, whatever threw it, as a `DomainError`.
    static func domainError(for error: any Error, logger: Logger) -> DomainError {
        switch error {
        case let domain as DomainError:
            if domain.kind == .internalError { logger.error("invariant violated", metadata: ["error": "\(domain)"]) }
            return domain
        case let store as StoreError:
            switch store {
            case .unavailable(let reason), .connectionLost(let reason):
                logger.warning("database unavailable", metadata: ["reason": "\(reason)"])
                return .unavailable
            case .retryable:
                return DomainError(.unavailable, code: "concurrent_update", message: "Too many concurrent updates of the same object; retry.")
            case .uniqueViolation:
                return DomainError(.conflict, code: "resource_conflict", message: "A concurrent request created the same object; retry to see it.")
            case .decoding, .other:
                logger.error("storage error", metadata: ["error": "\(store)"])
                return .internalError
            }
        case is NIOTooManyBytesError:
            return DomainError(.payloadTooLarge, code: "payload_too_large", message: "The request body is larger than the limit.")
        case let http as HTTPResponseError:
            switch http.status {
            case .notFound: return DomainError(.notFound, code: "resource_missing", message: "No such route.")
            case .methodNotAllowed: return DomainError(.notFound, code: "resource_missing", message: "No such route for this method.")
            case .contentTooLarge: return DomainError(.payloadTooLarge, code: "payload_too_large", message: "The request body is larger than the limit.")
            case .badRequest: return .invalidRequest("The request could not be read.")
            case .unauthorized: return .unauthenticated()
            default:
                logger.error("http error", metadata: ["status": "\(http.status)"])
                return .internalError
            }
        default:
            logger.error("unexpected error", metadata: ["error": "\(String(reflecting: error))"])
            return .internalError
        }
    }

    struct Body: Encodable {
        struct Detail: Encodable {
            let type: String
            let code: String
            let message: String
            let param: String?
            let requestId: String
        }
        let error: Detail
    }

    static func body(for error: DomainError, requestID: String) -> [UInt8] {
        let body = Body(error: .init(type: type(of: error), code: error.code, message: error.message,
                                     param: error.param, requestId: requestID))
        return (try? ZentraJSON.encode(body)) ?? Array(#"{"error":{"type":"api_error","code":"internal_error"}}"#.utf8)
    }

    static func response(for error: DomainError, requestID: String) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if error.kind == .unavailable || error.kind == .rateLimited { headers[.retryAfter] = "1" }
        return Response(status: status(of: error.kind), headers: headers,
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: body(for: error, requestID: requestID))))
    }
}

extension HTTPField.Name {
    static let requestID = Self("Request-Id")!
    static let idempotencyKey = Self("Idempotency-Key")!
    static let idempotentReplayed = Self("Idempotent-Replayed")!
    static let deprecation = Self("Deprecation")!
    static let xContentTypeOptions = Self("X-Content-Type-Options")!
}
