import Hummingbird
import NIOCore
import Logging
import ServiceLifecycle
import Synchronization
import ZentraApp
import ZentraCore
import ZentraISO8583
import ZentraStorage

/// Builds the router: operations endpoints in the open, the API behind API-key auth, the operator
/// console behind its session cookie.
/// Tests call this to build the very router `zentra serve` runs.
public func buildRouter(services: AppServices, metrics: HTTPMetrics, openAPI: OpenAPIDocument, views: ConsoleViews) -> Router<AppRequestContext> {
    let router = Router(context: AppRequestContext.self)
    router.add(middleware: MetricsMiddleware(metrics: metrics))
    router.add(middleware: ErrorMiddleware(ids: services.store.ids, bodyBytes_max: services.configuration.bodyBytes_max))
    OperationsController(services: services, metrics: metrics, openAPI: openAPI).register(on: router)

    let api = router.group().add(middleware: AuthMiddleware(store: services.store, rateLimiter: RateLimiter(settings: services.configuration.rateLimit)))
    let write = WriteEndpoint(services: services)
    let read = ReadEndpoint(services: services)
    APIKeysController(write: write, read: read).register(on: api)
    CustomersController(write: write, read: read).register(on: api)
    AccountsController(write: write, read: read).register(on: api)
    LedgerController(read: read).register(on: api)
    EventsController(write: write, read: read).register(on: api)
    let vault = CardVault(key: services.configuration.cardDataKey)
    TenantController(write: write, read: read).register(on: api)
    CardProgramsController(write: write, read: read, urlPolicy: services.configuration.outboundURLPolicy, vault: vault).register(on: api)
    CardsController(write: write, read: read, vault: vault).register(on: api)
    AuthorizationsController(write: write, read: read,
                             authorizer: Authorizer(store: services.store, vault: vault, decider: services.customerDecider)).register(on: api)
    ClearingController(write: write, read: read).register(on: api)
    DisputesController(write: write, read: read).register(on: api)
    WebhookEndpointsController(write: write, read: read, urlPolicy: services.configuration.outboundURLPolicy, vault: vault).register(on: api)
    ConsoleController(services: services, views: views).register(on: router)
    return router
}

/// Opens the storage engine named by the configuration and wraps it in the one `Store`.
public func makeServices(
    configuration: AppConfiguration, logger: Logger, ids: any IDGenerator = TimeOrderedIDGenerator(), clock: any WallClock = SystemClock()
) throws -> AppServices {
    let engine = try configuration.database.makeEngine(logger: logger, leaseTimeout: configuration.databaseLeaseTimeout)
    return AppServices(store: Store(engine: engine, ids: ids, clock: clock, logger: logger), configuration: configuration)
}

/// Builds the whole application: migrations before the server starts, the router, and the
/// background services (the PostgreSQL pool, the idempotency purger, hold expiry, webhook delivery,
/// the ISO 8583 listener when configured) it needs running.
public func buildApplication(services: AppServices, logger: Logger) throws -> some ApplicationProtocol {
    let store = services.store
    let configuration = services.configuration
    let metrics = HTTPMetrics()
    let router = buildRouter(services: services, metrics: metrics, openAPI: try OpenAPIDocument.load(), views: try ConsoleViews.load())
    var background: [any Service] = [
        // Deletes idempotency records past their retention, in bounded batches.
        PeriodicTask("idempotency purge", every: .seconds(60), logger: logger) {
            try await IdempotencyRecords.purgeExpired(now: store.clock.now(), engine: store.engine)
        },
        // Releases holds past their program's hold lifetime, in bounded batches. Every process may
        // run it: each release re-reads the hold under its row locks, so a hold is released once.
        PeriodicTask("hold expiry", every: configuration.holdExpiryInterval, logger: logger) {
            _ = try await HoldExpiry.releaseDue(store: store, batch_max: 200)
        },
        // Moves each tenant's audit checkpoint to its verified head, so that a request verifying
        // the chain checks only the records since.
        PeriodicTask("audit checkpoint", every: configuration.auditCheckpointInterval, logger: logger) {
            try await AuditCheckpoints.advance(store: store)
        },
        WebhookDeliveryWorker(store: store, settings: configuration.webhookDelivery, policy: configuration.outboundURLPolicy,
                              vault: CardVault(key: configuration.cardDataKey), metrics: metrics.webhooks),
    ]
    if let settings = configuration.iso8583 {
        let vault = CardVault(key: configuration.cardDataKey)
        let exchange = ISO8583Exchange(store: store, authorizer: Authorizer(store: store, vault: vault, decider: services.customerDecider),
                                       vault: vault, logger: logger)
        background.append(ISO8583Listener(settings: settings, exchange: exchange, metrics: ISO8583Metrics(registry: metrics.registry), logger: logger))
    }
    let migrated = StartupGate()
    let timeouts = configuration.connectionTimeouts
    var app = Application(
        router: router,
        server: .http1(configuration: .init(
            additionalChannelHandlers: [HeaderDeadlineHandler(timeout: timeouts.header)], idleTimeout: TimeAmount(timeouts.idle))),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "zentra"),
        // The database's own service first (PostgreSQL's pool runs the migrations); the others once
        // the migrations are applied, so none of them meets a table that is not there yet.
        services: [store.engine.service].compactMap { $0 } + background.map { AfterStartup(gate: migrated, service: $0) },
        logger: logger)
    app.beforeServerStarts {
        try await Startup.migrate(engine: store.engine, clock: store.clock, database: configuration.database, logger: logger)
        migrated.open()
    }
    return app
}

/// Opened once start-up is done; background services wait for it.
final class StartupGate: Sendable {
    private let opened = Atomic(false)

    func open() { opened.store(true, ordering: .releasing) }

    var isOpen: Bool { opened.load(ordering: .acquiring) }

    /// Returns once the gate is open; throws when the task is cancelled first (start-up failed).
    func wait() async throws {
        while !isOpen { try await Task.sleep(for: .milliseconds(20)) }
    }
}

/// A background service that starts once start-up (the migrations) is done.
struct AfterStartup: Service {
    let gate: StartupGate
    let service: any Service

    func run() async throws {
        try await gate.wait()
        try await service.run()
    }
}

/// Start-up checks that must pass before the first request is served.
public enum Startup {
    /// Runs the migrations; an unreachable database becomes one clear error naming the URL.
    /// - Returns: the versions applied now.
    @discardableResult
    public static func migrate(engine: any DatabaseEngine, clock: any WallClock, database: DatabaseURL, logger: Logger) async throws -> [Int64] {
        do {
            try await engine.ping()
        } catch {
            throw StartupError(message: "cannot reach the database at \(database): \(error)")
        }
        let applied = try await Migrations.run(on: engine, clock: clock)
        if !applied.isEmpty { logger.info("migrations applied", metadata: ["versions": "\(applied)"]) }
        return applied
    }
}

public struct StartupError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
    public init(message: String) { self.message = message }
}
