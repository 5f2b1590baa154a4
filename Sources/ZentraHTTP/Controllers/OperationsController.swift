import Foundation
import Hummingbird
import NIOCore
import Prometheus
import Yams
import ZentraStorage

/// Unauthenticated operations endpoints: liveness, readiness, metrics and the OpenAPI document.
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
            Reply(status: .ok, headers: ["Content-Type": "text/plain; version=0.0.4"],
                  body: metrics.exposition(pool: services.store.engine.poolUsage)).response()
        }
        router.get("/openapi.yaml") { _, _ in
            Reply(status: .ok, headers: ["Content-Type": "application/yaml"], body: openAPI.yaml).response()
        }
        router.get("/openapi.json") { _, _ in
            Reply(status: .ok, headers: ["Content-Type": "application/json"], body: openAPI.json).response()
        }
    }
}

/// The published contract: `openapi.yaml` shipped with the server, also served as JSON.
public struct OpenAPIDocument: Sendable {
    public let yaml: [UInt8]
    public let json: [UInt8]

    public static func load() throws -> OpenAPIDocument {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml") else {
            throw CocoaError(.fileNoSuchFile)
        }
        let text = try String(contentsOf: url, encoding: .utf8)
        let object = try Yams.load(yaml: text) ?? [:]
        let json = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        return OpenAPIDocument(yaml: Array(text.utf8), json: Array(json))
    }

    /// Every (method, path) pair the document describes, paths in `{param}` form.
    public func operations() throws -> Set<String> {
        guard let root = try JSONSerialization.jsonObject(with: Data(json)) as? [String: Any],
            let paths = root["paths"] as? [String: Any]
        else { return [] }
        var result: Set<String> = []
        for (path, item) in paths {
            guard let methods = item as? [String: Any] else { continue }
            for method in methods.keys where ["get", "post", "put", "patch", "delete"].contains(method) {
                result.insert("\(method.uppercased()) \(path)")
            }
        }
        return result
    }
}

/// Request counts and latency histograms by route and status, and database pool use, in one
/// registry per application (tests build many; nothing is bootstrapped globally).
public final class HTTPMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let poolInUse: Gauge
    private let poolSize: Gauge

    public init() {
        poolInUse = registry.makeGauge(name: "zentra_db_pool_connections_in_use", labels: [], help: "Database connections leased now")
        poolSize = registry.makeGauge(name: "zentra_db_pool_connections_max", labels: [], help: "Database pool size")
    }

    func record(method: String, route: String, status: Int, duration: Duration) {
        let labels = [("method", method), ("route", route), ("status", String(status))]
        registry.makeCounter(name: "zentra_http_requests_total", labels: labels, help: "HTTP requests by route and status").increment()
        registry.makeDurationHistogram(
            name: "zentra_http_request_duration_seconds", labels: labels,
            buckets: [.milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
                      .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5)],
            help: "HTTP request latency by route and status"
        ).record(duration)
    }

    func exposition(pool: PoolUsage) -> [UInt8] {
        poolInUse.set(Double(pool.inUse))
        poolSize.set(Double(pool.size))
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}

/// Times every request and counts it by its route template (never the raw path: ids would explode
/// the label set) and final status.
struct MetricsMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let metrics: HTTPMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        metrics.record(method: request.method.rawValue, route: context.endpointPath ?? "unmatched",
                       status: response.status.code, duration: ContinuousClock.now - start)
        return response
    }
}
