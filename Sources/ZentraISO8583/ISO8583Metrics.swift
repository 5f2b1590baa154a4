import Prometheus
import Synchronization

/// Messages by type and response code, messages in flight, and latency by type, in the registry
/// `/metrics` serves.
public final class ISO8583Metrics: Sendable {
    private let registry: PrometheusCollectorRegistry
    private let inFlight: Gauge
    private let counters = Mutex<[String: Counter]>([:])
    private let histograms = Mutex<[String: DurationHistogram]>([:])

    public init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        inFlight = registry.makeGauge(descriptor: MetricNameDescriptor(
            namespace: "zentra", subsystem: "iso8583", metricName: "messages", unitName: "in_flight",
            helpText: "ISO 8583 messages received and not yet answered"))
    }

    func started() { inFlight.increment() }

    /// - Parameter code: the answer's field 39, or `none` for a frame that closed the connection.
    func answered(mti: String, code: String, duration: Duration) {
        inFlight.decrement()
        let counter = counters.withLock { known in
            let key = mti + "/" + code
            if let found = known[key] { return found }
            let made = registry.makeCounter(descriptor: MetricNameDescriptor(
                namespace: "zentra", subsystem: "iso8583", metricName: "messages", unitName: "total",
                helpText: "ISO 8583 messages by type and response code"), labels: [("mti", mti), ("response_code", code)])
            known[key] = made
            return made
        }
        let histogram = histograms.withLock { known in
            if let found = known[mti] { return found }
            let made = registry.makeDurationHistogram(
                descriptor: MetricNameDescriptor(namespace: "zentra", subsystem: "iso8583", metricName: "message_duration",
                                                 unitName: "seconds", helpText: "ISO 8583 time from a message to its answer, by type"),
                labels: [("mti", mti)],
                buckets: [.milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
                          .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5)])
            known[mti] = made
            return made
        }
        counter.increment()
        histogram.record(duration)
    }
}
