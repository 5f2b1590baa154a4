import ZentraApp
import ZentraCore
import ZentraISO8583
import ZentraStorage

/// Settings of one running Zentra, with defaults for everything.
public struct AppConfiguration: Sendable {
    public static let defaultBodyBytes_max = 1 << 20

    public var host: String
    public var port: Int
    public var database: DatabaseURL
    /// Largest request body accepted; larger ones answer 413.
    public var bodyBytes_max: Int
    /// How long a completed idempotency key is kept and replayed (at least 24 hours: `docs/conventions.md`, "Idempotency").
    public var idempotencyRetentionSeconds: Int64
    /// How long a claimed key may stay in progress before another request may take it over.
    public var idempotencyLeaseSeconds: Int64
    /// How long a request waits for a database connection before answering 503.
    public var databaseLeaseTimeout: Duration = .seconds(5)
    /// Which URLs clients may ask Zentra to call (`ZENTRA_WEBHOOK_ALLOWED_NETWORKS`).
    public var outboundURLPolicy: OutboundURLPolicy
    /// Retry schedule, timeout and concurrency of webhook delivery.
    public var webhookDelivery = WebhookDeliverySettings()
    /// How often a process looks for holds past their program's hold lifetime.
    public var holdExpiryInterval: Duration = .seconds(30)
    /// How large a clearing file may be (bytes, records).
    public var clearingFileLimits = ClearingFileIngest.Limits()
    /// How often a process moves the audit checkpoints to the verified heads. Often, so that each
    /// pass is short: under load a pass verifies every record since the last, and one every 10 s
    /// took a core for most of a second, which the decisions queued behind.
    public var auditCheckpointInterval: Duration = .seconds(1)
    /// Protects PAN and CVV at rest; every process of a deployment needs the same one.
    public var cardDataKey: CardDataKey
    /// Signs evidence packets; every process of a deployment needs the same ring.
    public var evidenceKeys: EvidenceKeyRing
    /// Requests per second per API key (`ZENTRA_RATE_LIMIT`, `ZENTRA_RATE_LIMIT_NETWORK`).
    public var rateLimit = RateLimitSettings()
    /// How long a client may take over a request head, and keep a connection idle.
    public var connectionTimeouts = ConnectionTimeouts()
    /// The ISO 8583 listener (`--iso8583-port`), when one is asked for.
    public var iso8583: ISO8583Listener.Settings?

    public init(
        host: String = "127.0.0.1", port: Int = 8080, database: DatabaseURL = .sqlite(path: "./zentra.sqlite"),
        bodyBytes_max: Int = AppConfiguration.defaultBodyBytes_max,
        idempotencyRetentionSeconds: Int64 = 24 * 3600, idempotencyLeaseSeconds: Int64 = 60,
        outboundURLPolicy: OutboundURLPolicy = OutboundURLPolicy(), cardDataKey: CardDataKey = .random(),
        evidenceKeys: EvidenceKeyRing = .random()
    ) {
        self.cardDataKey = cardDataKey
        self.evidenceKeys = evidenceKeys
        self.outboundURLPolicy = outboundURLPolicy
        self.host = host
        self.port = port
        self.database = database
        self.bodyBytes_max = bodyBytes_max
        self.idempotencyRetentionSeconds = idempotencyRetentionSeconds
        self.idempotencyLeaseSeconds = idempotencyLeaseSeconds
    }
}
