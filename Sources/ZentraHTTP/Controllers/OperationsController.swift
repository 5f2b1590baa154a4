import Foundation
import Hummingbird
import NIOCore
import ZentraApp
import ZentraStorage

/// Unauthenticated operations endpoints: liveness, readiness, metrics, the OpenAPI document, and the
/// public keys evidence packets are signed with (anyone holding a packet may check it).
struct OperationsController {
    let services: AppServices
    let metrics: HTTPMetrics
    let openAPI: OpenAPIDocument

    func register(on router: Router<AppRequestContext>) {
        router.get("/healthz") { _, _ in
            try Reply.json(["status": "ok"]).response()
        }
        router.get("/readyz") { _, _ in
            do {
                try await services.store.engine.ping()
                return try Reply.json(["status": "ready", "database": services.store.engine.dialect.rawValue]).response()
            } catch {
                return try Reply.json(["status": "unavailable", "database": services.store.engine.dialect.rawValue],
                                      status: .serviceUnavailable, headers: ["Retry-After": "1"]).response()
            }
        }
        router.get("/metrics") { _, _ in
            try await metrics.webhooks.refreshBacklog(engine: services.store.engine)
            return Reply(status: .ok, headers: ["Content-Type": "text/plain; version=0.0.4"],
                  body: metrics.exposition(pool: services.store.engine.poolUsage)).response()
        }
        router.get("/evidence/keys") { _, _ in
            try Reply.json(EvidenceKeys(keys: services.configuration.evidenceKeys.keys)).response()
        }
        router.get("/openapi.yaml") { _, _ in
            Reply(status: .ok, headers: ["Content-Type": "application/yaml"], body: openAPI.yaml).response()
        }
        router.get("/openapi.json") { _, _ in
            Reply(status: .ok, headers: ["Content-Type": "application/json"], body: openAPI.json).response()
        }
    }
}

/// `GET /evidence/keys`: every key that has signed evidence, oldest first; the last signs now.
struct EvidenceKeys: Encodable {
    let keys: [EvidenceKeyRing.Key]
}
