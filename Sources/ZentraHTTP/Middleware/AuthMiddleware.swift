import Hummingbird
import ZentraCore
import ZentraStorage

/// Resolves `Authorization: Bearer <key>` to the caller, on every request (no cache, so a revoked
/// key stops working at once on every process). A `readonly` key may only read.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let store: Store

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            throw DomainError.unauthenticated()
        }
        let key = String(header.dropFirst("Bearer ".count)).trimmingCharacters(in: .whitespaces)
        guard !key.isEmpty, key.count <= 200, let principal = try await TenantRepository.authenticate(apiKey: key, store: store) else {
            throw DomainError.unauthenticated("The API key is invalid or has been revoked.")
        }
        if principal.role == .readonly && request.method != .get && request.method != .head {
            throw DomainError.forbidden("A readonly key may only read.")
        }
        var context = context
        context.principal = principal
        context.logger[metadataKey: "tenant"] = "\(principal.tenant)"
        return try await next(request, context)
    }
}

import Foundation
