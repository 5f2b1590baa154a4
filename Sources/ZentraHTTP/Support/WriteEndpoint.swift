import HTTPTypes
import Hummingbird
import ZentraApp
import ZentraCore
import ZentraStorage
import ZentraWebhooks

/// What the HTTP layer needs to serve: the store, the settings, and the way out to customers' endpoints.
public struct AppServices: Sendable {
    public let store: Store
    public let configuration: AppConfiguration
    public let customerDecider: any CustomerDecider

    public init(store: Store, configuration: AppConfiguration, customerDecider: (any CustomerDecider)? = nil) {
        self.store = store
        self.configuration = configuration
        self.customerDecider = customerDecider ?? HTTPCustomerDecider(policy: configuration.outboundURLPolicy, clock: store.clock, logger: store.logger)
    }
}

/// The one path every state-changing request takes: authorize, read and validate the body, claim
/// the idempotency key, run the unit of work, and store the response with the effect. The one
/// exception is `POST /authorizations`: its `network_reference` is its idempotency key, and it may
/// need two units of work around the customer's webhook, so it runs through the `Authorizer`.
struct WriteEndpoint: Sendable {
    let services: AppServices
    var store: Store { services.store }
    var vault: CardVault { CardVault(key: services.configuration.cardDataKey) }

    /// - Parameter implicitKey: for endpoints whose body names their own idempotency key (`intent_id`).
    func run<Input: Decodable & Sendable>(
        _ request: Request, _ context: AppRequestContext, input _: Input.Type = Input.self,
        implicitKey: (@Sendable (Input) -> String?)? = nil,
        _ body: @escaping @Sendable (WriteTransaction, Input) async throws -> Reply
    ) async throws -> Response {
        let principal = try context.caller()
        let json = try await JSONBody<Input>.read(request, context: context)
        let key = try idempotencyKey(header: request.headers[.idempotencyKey], body: json.idempotencyKey)
            ?? implicitKey?(json.input)
        let scope = { (claim: IdempotencyClaim?) in
            WriteScope(tenant: principal.tenant, actor: principal.actor, requestID: context.requestID, idempotency: claim)
        }
        guard let key else {
            return try await store.write(scope(nil)) { tx in try await body(tx, json.input) }.response()
        }

        let outcome = try await IdempotencyRecords.claim(
            tenant: principal.tenant, key: key, fingerprint: json.parsed.fingerprint(method: request.method, path: request.uri.path),
            token: store.ids.nextBody(), now: store.clock.now(),
            leaseSeconds: services.configuration.idempotencyLeaseSeconds,
            retentionSeconds: services.configuration.idempotencyRetentionSeconds, engine: store.engine)
        let claim: IdempotencyClaim
        switch outcome {
        case .replay(let stored): return try Reply(stored, vault: vault, tenant: principal.tenant, key: key).response(replayed: true)
        case .reusedWithDifferentRequest: throw DomainError.idempotencyKeyReused
        case .inProgress: throw DomainError.idempotencyRequestInProgress
        case .claimed(let claimed): claim = claimed
        }

        do {
            let reply = try await store.write(scope(claim)) { tx in
                let reply = try await body(tx, json.input)
                tx.storeIdempotentResponse(try reply.stored(vault: vault, tenant: principal.tenant, key: key))
                return reply
            }
            return reply.response()
        } catch {
            let domain = ErrorMapping.domainError(for: error, logger: context.logger)
            switch domain.kind {
            case .unavailable, .internalError, .invalidRequest, .forbidden:
                // Not the client's doing, or refused by validation or by the caller's role before
                // anything ran: free the key, so that a retry (or the corrected request, or a caller
                // with the role) runs again under it.
                try? await IdempotencyRecords.release(claim, tenant: principal.tenant, engine: store.engine)
                throw domain
            default:
                if domain == .idempotencyRequestInProgress { throw domain }
                // A refusal by the state of the world (funds, KYC, limits, a missing object) is the
                // request's answer: keep it, as Stripe does, so a retry hears the same.
                let refusal = Reply(status: ErrorMapping.status(of: domain.kind), headers: ["Content-Type": "application/json"],
                                    body: ErrorMapping.body(for: domain, requestID: context.requestID))
                try await IdempotencyRecords.completeAlone(claim, tenant: principal.tenant, response: refusal.stored, engine: store.engine)
                return refusal.response()
            }
        }
    }

    static let key_max = 255

    private func idempotencyKey(header: String?, body: String?) throws -> String? {
        if let header, let body, header != body {
            throw DomainError.parameterInvalid("idempotency_key", "the Idempotency-Key header and the body field differ")
        }
        guard let key = header ?? body else { return nil }
        guard !key.isEmpty, key.count <= Self.key_max, key.unicodeScalars.allSatisfy({ $0.value >= 0x21 && $0.value <= 0x7E }) else {
            throw DomainError.parameterInvalid("idempotency_key", "must be 1 to \(Self.key_max) printable ASCII characters")
        }
        return key
    }
}

/// Read endpoints: authorize, then run statements scoped to the caller's tenant.
struct ReadEndpoint: Sendable {
    let services: AppServices

    func run<T: Encodable & Sendable>(
        _ context: AppRequestContext, _ body: @escaping @Sendable (ReadScope) async throws -> T
    ) async throws -> Response {
        let principal = try context.caller()
        let value = try await services.store.read(tenant: principal.tenant, body)
        return try Reply.json(value).response()
    }

    /// An evidence packet: the answer's exact bytes signed with the platform's current Ed25519 key
    /// in `Zentra-Evidence-Signature` (keys at `GET /evidence/keys`), so it can be checked offline.
    func evidence<T: Encodable & Sendable>(
        _ context: AppRequestContext, _ body: @escaping @Sendable (ReadScope) async throws -> T
    ) async throws -> Response {
        let principal = try context.caller()
        var reply = try Reply.json(try await services.store.read(tenant: principal.tenant, body))
        reply.headers["Zentra-Evidence-Signature"] = try services.configuration.evidenceKeys.signatureHeader(for: reply.body)
        reply.headers["Cache-Control"] = "no-store"
        return reply.response()
    }
}
