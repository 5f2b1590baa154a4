import Prometheus
import Synchronization
import ZentraCore
import ZentraStorage

/// Webhook delivery on `/metrics`: attempts by outcome, the lag from an event to its delivery,
/// sends in flight, attempts recorded per commit, and each endpoint's backlog and whether its
/// stream is paused (read from the database when scraped, so every process reports the whole
/// deployment's).
public final class WebhookMetrics: Sendable {
    private let registry: PrometheusCollectorRegistry
    private let inFlight: Gauge
    private let lag: DurationHistogram
    private let recordedPerCommit: ValueHistogram
    private let attempts = Mutex<[String: Counter]>([:])
    private let backlog = Mutex<[WebhookEndpointID: (deliveries: Gauge, paused: Gauge)]>([:])

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        inFlight = registry.makeGauge(descriptor: MetricNameDescriptor(
            namespace: "zentra", subsystem: "webhook", metricName: "sends", unitName: "in_flight",
            helpText: "Webhook sends this process has in flight"))
        lag = registry.makeDurationHistogram(
            descriptor: MetricNameDescriptor(namespace: "zentra", subsystem: "webhook", metricName: "delivery_lag", unitName: "seconds",
                                             helpText: "Time from an event to its successful delivery"),
            buckets: [.milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
                      .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(60), .seconds(600), .seconds(3600)])
        recordedPerCommit = registry.makeValueHistogram(
            descriptor: MetricNameDescriptor(namespace: "zentra", subsystem: "webhook", metricName: "attempts_recorded_per_commit",
                                             helpText: "Finished attempts recorded by one delivery transaction"),
            buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024])
    }

    func sendStarted() { inFlight.increment() }

    /// A send finished: counted by outcome, and on success its lag from the event.
    func sendFinished(_ outcome: WebhookAttemptOutcome, eventCreatedAt: Timestamp, now: Timestamp) {
        inFlight.decrement()
        let label = Self.label(outcome)
        let counter = attempts.withLock { known in
            if let found = known[label] { return found }
            let made = registry.makeCounter(descriptor: MetricNameDescriptor(
                namespace: "zentra", subsystem: "webhook", metricName: "attempts", unitName: "total",
                helpText: "Webhook delivery attempts by outcome"), labels: [("outcome", label)])
            known[label] = made
            return made
        }
        counter.increment()
        if outcome.succeeded { lag.record(.microseconds(max(0, now.microseconds - eventCreatedAt.microseconds))) }
    }

    func recorded(_ count: Int) {
        if count > 0 { recordedPerCommit.record(Double(count)) }
    }

    /// `succeeded`, `http_4xx` or `http_5xx` (and the like), or how the send failed (`timeout`,
    /// `connection_failed`, a refused address): a small, fixed set of labels.
    static func label(_ outcome: WebhookAttemptOutcome) -> String {
        if outcome.succeeded { return WebhookAttempt.Result.succeeded.rawValue }
        if let failure = outcome.failure { return failure }
        return outcome.statusCode.map { "http_\($0 / 100)xx" } ?? WebhookAttempt.Result.failed.rawValue
    }

    /// Sets each endpoint's backlog and paused gauges from the database; an endpoint that caught
    /// up reads 0, one deleted too.
    func refreshBacklog(engine: any DatabaseEngine) async throws {
        let counts = try await WebhookOutbox.backlog(engine: engine)
        backlog.withLock { gauges in
            for endpoint in Set(gauges.keys).union(counts.keys) {
                let labels = [("endpoint", endpoint.rawValue)]
                let gauge = gauges[endpoint] ?? (
                    registry.makeGauge(descriptor: MetricNameDescriptor(namespace: "zentra", subsystem: "webhook", metricName: "backlog", unitName: "deliveries",
                                                                        helpText: "Deliveries not finished yet, per endpoint"), labels: labels),
                    registry.makeGauge(descriptor: MetricNameDescriptor(namespace: "zentra", subsystem: "webhook", metricName: "stream_paused",
                                                                        helpText: "1 while the endpoint's stream is paused: it fails every attempt and is probed"),
                                       labels: labels))
                gauges[endpoint] = gauge
                gauge.deliveries.set(Double(counts[endpoint]?.deliveries ?? 0))
                gauge.paused.set(Double(counts[endpoint]?.paused == true ? 1 : 0))
            }
        }
    }
}
