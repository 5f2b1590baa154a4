import HTTPTypes
import Hummingbird
import ZentraCore
import ZentraStorage

/// Resolves `Authorization: Bearer <key>` to the caller, and refuses it the routes its role may not
/// call (`AccessPolicy`).
///
/// Decisions (`POST /authorizations`) find their key in a cache of this process: their batch reads
/// the key again inside its transaction (`AuthorizationBatch`), so a key revoked on any process
/// decides nothing, and it is then dropped from the cache. Every other request reads its key from
/// the database, so revocation holds at once everywhere.
///
/// Each key's requests then pass its rate limit (`RateLimiter`); a refused one answers 429
/// `rate_limited` and writes nothing.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let store: Store
    let rateLimiter: RateLimiter
    /// Principals by the key they presented, in this process's memory only (the database keeps
    /// only digests). Looking a key up here costs no digest.
    let decisionKeys = BoundedCache<String, Principal>(capacity: 10_000)

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            throw DomainError.unauthenticated()
        }
        let key = String(header.dropFirst("Bearer ".count)).trimming(.whitespaces)
        guard !key.isEmpty, key.count <= 200 else { throw DomainError.unauthenticated("The API key is invalid or has been revoked.") }
        let checkedAgain = request.method == .post && request.uri.path == AuthorizationsController.decisionsPath
        var principal = checkedAgain ? decisionKeys[key] : nil
        if principal == nil {
            principal = try await TenantRepository.authenticate(digest: TenantRepository.digestHex(key), store: store)
            if checkedAgain, let principal { decisionKeys.keep(principal, for: key) }
        }
        guard let principal else { throw DomainError.unauthenticated("The API key is invalid or has been revoked.") }
        try AccessPolicy.check(principal, AccessPolicy.route(method: request.method, path: context.endpointPath ?? request.uri.path))
        let limit = rateLimiter.take(principal, clock: store.clock)
        if let limit, !limit.decision.allowed {
            var refused = ErrorMapping.response(
                for: DomainError(.rateLimited, code: "rate_limited",
                                 message: "Too many requests for this API key; retry after \(limit.decision.retryAfterSeconds) s."),
                requestID: context.requestID)
            refused.headers[.retryAfter] = String(limit.decision.retryAfterSeconds)
            add(limit, to: &refused)
            return refused
        }
        var context = context
        context.principal = principal
        context.logger[metadataKey: "tenant"] = "\(principal.tenant)"
        do {
            var response = try await next(request, context)
            if let limit { add(limit, to: &response) }
            return response
        } catch let error as DomainError where checkedAgain && error.code == "unauthenticated" {
            decisionKeys.forget(key)
            throw error
        }
    }

    private func add(_ limit: RateLimiter.Limit, to response: inout Response) {
        for (name, value) in limit.headers { response.headers[HTTPField.Name(name)!] = value }
    }
}
