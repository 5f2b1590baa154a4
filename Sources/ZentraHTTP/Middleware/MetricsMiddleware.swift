import Hummingbird
import Prometheus
import Synchronization
import ZentraStorage

/// Request counts and latency histograms by route and status, and database pool use, in one
/// registry per application (tests build many; nothing is bootstrapped globally).
public final class HTTPMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let webhooks: WebhookMetrics
    private let poolInUse: Gauge
    private let poolSize: Gauge

    public init() {
        webhooks = WebhookMetrics(registry: registry)
        poolInUse = registry.makeGauge(descriptor: MetricNameDescriptor(
            namespace: "zentra", subsystem: "db_pool", metricName: "connections", unitName: "in_use", helpText: "Database connections leased now"))
        poolSize = registry.makeGauge(descriptor: MetricNameDescriptor(
            namespace: "zentra", subsystem: "db_pool", metricName: "connections", unitName: "max", helpText: "Database pool size"))
    }

    private struct Series: Hashable {
        let method: String
        let route: String
        let status: Int
    }

    /// Each series' counter and histogram, found once: the registry names them anew on every lookup.
    private let series = Mutex<[Series: (Counter, DurationHistogram)]>([:])

    func record(method: String, route: String, status: Int, duration: Duration) {
        let key = Series(method: method, route: route, status: status)
        let (counter, histogram) = series.withLock { known in
            if let found = known[key] { return found }
            let labels = [("method", method), ("route", route), ("status", String(status))]
            let made = (
                registry.makeCounter(descriptor: MetricNameDescriptor(
                    namespace: "zentra", subsystem: "http", metricName: "requests", unitName: "total",
                    helpText: "HTTP requests by route and status"), labels: labels),
                registry.makeDurationHistogram(
                    descriptor: MetricNameDescriptor(
                        namespace: "zentra", subsystem: "http", metricName: "request_duration", unitName: "seconds",
                        helpText: "HTTP request latency by route and status"),
                    labels: labels,
                    buckets: [.milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
                              .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5)]))
            known[key] = made
            return made
        }
        counter.increment()
        histogram.record(duration)
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
