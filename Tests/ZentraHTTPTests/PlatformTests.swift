import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization
import Testing
@testable import ZentraCore
@testable import ZentraHTTP
import ZentraStorage
import ZentraTestSupport

@Suite struct PlatformTests {
    /// Every route the server registers is in openapi.yaml, and every operation there is served;
    /// the operator console's HTML pages (`/console`) are not part of the JSON API.
    @Test func openAPIDocumentMatchesTheRegisteredRoutes() throws {
        let services = try makeServices(configuration: AppConfiguration(database: .sqlite(path: FileManager.default.temporaryDirectory.appendingPathComponent("openapi-\(UUID().uuidString).sqlite").path)), logger: Logger(label: "t"))
        let document = try OpenAPIDocument.load()
        let router = buildRouter(services: services, metrics: HTTPMetrics(), openAPI: document, views: try ConsoleViews.load())
        let registered = Set(router.routes.map { "\($0.method.rawValue) \($0.path.description.hasPrefix("/") ? "" : "/")\($0.path)" })
            .filter { !$0.contains(" /console") }
        let documented = try document.operations()
        #expect(registered.subtracting(documented).isEmpty, "routes missing from openapi.yaml: \(registered.subtracting(documented).sorted())")
        #expect(documented.subtracting(registered).isEmpty, "documented but not served: \(documented.subtracting(registered).sorted())")
        #expect(registered.count > 20)
    }

    /// The document's `Currency` and `Country` enums are the server's tables, no more and no less.
    @Test func openAPICurrenciesAndCountriesAreTheOnesTheServerTakes() throws {
        let json = try #require(try JSONSerialization.jsonObject(with: Data(try OpenAPIDocument.load().json)) as? [String: Any])
        let schemas = try #require((json["components"] as? [String: Any])?["schemas"] as? [String: Any])
        let currencies = try #require((schemas["Currency"] as? [String: Any])?["enum"] as? [String])
        #expect(Set(currencies) == Set(Currency.table.keys) && currencies.count == Currency.table.count)
        let countries = try #require((schemas["Country"] as? [String: Any])?["enum"] as? [String])
        #expect(Set(countries) == Countries.alpha2 && countries.count == Countries.alpha2.count)
    }

    @Test(arguments: Backend.allCases)
    func operationsEndpointsAnswerWithoutAKey(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            #expect(try await env.get("/healthz", key: "").status == .ok)
            let ready = try await env.get("/readyz", key: "")
            #expect(ready.status == .ok && ready.json["database"] as? String == backend.rawValue)
            _ = try await env.createCustomer()
            let metrics = try await env.get("/metrics", key: "")
            #expect(metrics.status == .ok)
            #expect(metrics.text.contains(#"zentra_http_requests_total{method="POST",route="/customers",status="201"}"#), "\(metrics.text)")
            #expect(metrics.text.contains("zentra_http_request_duration_seconds_bucket"))
            #expect(metrics.text.contains("zentra_db_pool_connections_max"))
            let json = try await env.get("/openapi.json", key: "")
            #expect(json.json["openapi"] as? String == "3.1.0")
            #expect(try await env.get("/openapi.yaml", key: "").text.hasPrefix("openapi: 3.1.0"))
            #expect(try await env.get("/healthz", key: "").headers[.init("Request-Id")!]?.hasPrefix("req_") == true)
            // No answer may be sniffed; answers with a secret or evidence are kept by no cache.
            #expect(try await env.get("/customers").headers[.init("X-Content-Type-Options")!] == "nosniff")
            #expect(try await env.get("/nowhere").headers[.init("X-Content-Type-Options")!] == "nosniff", "errors too")
            let key = try await env.post("/api-keys", #"{"role": "readonly"}"#)
            #expect(key.headers[.init("Cache-Control")!] == "no-store")
            #expect(try await env.post("/customers", #"{"name": "A", "email": "a@example.com"}"#).headers[.init("Cache-Control")!] == nil)
        }
    }

    /// The webhook worker, the listener and the periodic chores wait behind one gate that opens
    /// once the migrations are applied: a service never runs before it, and a start-up that fails
    /// (the wait is cancelled) never runs it at all.
    @Test func backgroundServicesRunOnlyOnceStartupOpensTheGate() async throws {
        /// Records, each time it runs, whether the gate was open then.
        final class Probe: Service {
            let gate: StartupGate
            let sawGateOpen = Mutex<[Bool]>([])
            init(gate: StartupGate) { self.gate = gate }
            func run() async throws { sawGateOpen.withLock { $0.append(gate.isOpen) } }
        }
        let failed = StartupGate()
        let neverRun = Probe(gate: failed)
        let abandoned = Task { try await AfterStartup(gate: failed, service: neverRun).run() }
        abandoned.cancel()
        await #expect(throws: CancellationError.self) { try await abandoned.value }
        #expect(neverRun.sawGateOpen.withLock { $0 }.isEmpty)

        let gate = StartupGate()
        let probe = Probe(gate: gate)
        let waiting = Task { try await AfterStartup(gate: gate, service: probe).run() }
        gate.open()
        try await waiting.value
        #expect(probe.sawGateOpen.withLock { $0 } == [true])
    }

    /// Two server instances (separate pools, no shared memory) on one PostgreSQL database.
    @Test func twoInstancesOnOnePostgresDatabaseShareStateExactly() async throws {
        let database = DatabaseURL.postgres(try await TestPostgres.shared.makeDatabase())
        try await TestEnvironment.run(database: database) { first in
            var logger = Logger(label: "second")
            logger.logLevel = .error
            var configuration = AppConfiguration(database: database)
            configuration.databaseLeaseTimeout = .seconds(30)
            let services = try makeServices(configuration: configuration, logger: logger)
            try await buildApplication(services: services, logger: logger).test(.router) { secondClient in
                let second = TestEnvironment(client: secondClient, services: services, tenant: first.tenant, adminKey: first.adminKey)
                let account = try await first.createAccount(customer: try await second.createCustomer())
                // Deposits through both instances at once: every one lands, none is lost.
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for index in 0..<30 {
                        let instance = index % 2 == 0 ? first : second
                        group.addTask {
                            let reply = try await instance.deposit(account, 100, reference: "two-\(index)")
                            #expect(reply.status == .created, "\(reply.text)")
                        }
                    }
                    try await group.waitForAll()
                }
                #expect(try await first.get("/accounts/\(account)").json["available_minor"] as? Int == 3_000)
                #expect(try await second.get("/accounts/\(account)").json["available_minor"] as? Int == 3_000)
                let events = try await second.get("/events?limit=100").list.map { $0["sequence"] as! Int }
                #expect(events == Array((1...events.count).reversed()), "event order has no gaps or duplicates")
                #expect(try await first.get("/audit-log/verify").json["valid"] as? Bool == true)

                // The same idempotency key through both instances: one effect.
                async let a = first.deposit(account, 1, reference: "shared", idempotencyKey: "both")
                async let b = second.deposit(account, 1, reference: "shared", idempotencyKey: "both")
                let replies = try await [a, b]
                #expect(replies.filter { $0.status == .created && $0.headers[.init("Idempotent-Replayed")!] == nil }.count == 1)
                #expect(try await first.get("/accounts/\(account)").json["available_minor"] as? Int == 3_001)

                // A key revoked through one instance stops working on the other at once.
                let key = try await first.createKey(role: "developer")
                #expect(try await second.get("/customers", key: key).status == .ok)
                let id = try #require(try await first.get("/api-keys").list.first { $0["role"] as? String == "developer" }?["id"] as? String)
                #expect(try await first.request(.delete, "/api-keys/\(id)").status == .ok)
                #expect(try await second.get("/customers", key: key).status == .unauthorized)
            }
        }
    }
}
