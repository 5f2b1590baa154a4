import ArgumentParser
import Foundation
import Hummingbird
import Logging
import ZentraApp
import ZentraCommandLine
import ZentraCore
import ZentraHTTP
import ZentraISO8583
import ZentraStorage

@main
struct Zentra: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zentra",
        abstract: "Self-hostable card issuing: API, ledger, events and audit in one process.",
        subcommands: [Serve.self, Migrate.self, TenantCommand.self, KeyCommand.self, AuditCommand.self, LedgerCommand.self, EvidenceCommand.self, ReplayCommand.self, WebhookCommand.self])
}

/// `withStore` for commands about one tenant: a missing tenant is an error, not an empty answer.
func withTenant<T: Sendable>(_ raw: String, _ url: DatabaseURL, _ body: @escaping @Sendable (Store, TenantID) async throws -> T) async throws -> T {
    guard let tenant = TenantID(raw) else { throw ValidationError("--tenant must be a ten_… id") }
    return try await withStore(url) { store in
        guard try await TenantRepository.tenantExists(tenant, store: store) else {
            throw StartupError(message: "no such tenant \(tenant)")
        }
        return try await body(store, tenant)
    }
}

/// What `zentra evidence rotate-key` prints: the key that signs from the next start, and how many are published.
struct RotatedKeys: Encodable {
    let signingKey: String
    let keys: Int
}

func printJSON(_ value: some Encodable) throws {
    print(String(decoding: try ZentraJSON.encode(value), as: UTF8.self))
}

struct LedgerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ledger", abstract: "Ledger tools.", subcommands: [Verify.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check the ledger from its lines: balanced per currency and per entry, account totals equal to their postings, no customer money below zero. Exits 1 on any failure.")
        @Option(help: "One tenant (default: every tenant)") var tenant: String?
        @OptionGroup var database: DatabaseOption

        func run() async throws {
            let url = try database.url()
            let results: [LedgerVerification]
            if let tenant {
                results = [try await withTenant(tenant, url) { store, id in try await store.read(tenant: id) { try await $0.ledger.verify() } }]
            } else {
                results = try await withStore(url) { store in
                    var results: [LedgerVerification] = []
                    for id in try await LedgerVerification.tenants(store: store) {
                        results.append(try await store.read(tenant: id) { try await $0.ledger.verify() })
                    }
                    return results
                }
            }
            try printJSON(["ok": .bool(results.allSatisfy(\.ok)), "tenants": try JSONValue.from(results)] as [String: JSONValue])
            if !results.allSatisfy(\.ok) { throw ExitCode.failure }
        }
    }
}

/// `--evidence-key-file`, unless `ZENTRA_EVIDENCE_SIGNING_KEYS` gives the ring.
struct EvidenceKeyOption: ParsableArguments {
    @Option(help: "Evidence signing keys (Ed25519), created (0600) on first start unless ZENTRA_EVIDENCE_SIGNING_KEYS is set.")
    var evidenceKeyFile = "./zentra-evidence.keys"

    func load() throws -> EvidenceKeyRing {
        if let keys = ProcessInfo.processInfo.environment["ZENTRA_EVIDENCE_SIGNING_KEYS"] { return try EvidenceKeyRing(text: keys) }
        return try EvidenceKeyRing.loadOrCreate(file: evidenceKeyFile)
    }
}

struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Decide an authorization again from the inputs its evidence recorded; exits 1 unless the decision and rule trace are the same.")
    @Argument(help: "auth_…") var authorization: String
    @Option var tenant: String
    @OptionGroup var database: DatabaseOption

    func run() async throws {
        guard let id = AuthorizationID(authorization) else { throw DomainError.resourceMissing("authorization", id: authorization, param: "id") }
        let replay = try await withTenant(tenant, try database.url()) { store, tenant in
            try await store.read(tenant: tenant) { try await AuthorizationReplay.run(id, scope: $0) }
        }
        try printJSON(replay)
        if !replay.agrees { throw ExitCode.failure }
    }
}

struct EvidenceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "evidence", abstract: "Evidence signing keys.", subcommands: [RotateKey.self])

    struct RotateKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-key",
            abstract: "Add a new signing key to the key file; it signs from the next start, and the older keys stay published.")
        @Option(help: "The evidence key file.") var evidenceKeyFile = "./zentra-evidence.keys"

        func run() async throws {
            let ring = try EvidenceKeyRing.loadOrCreate(file: evidenceKeyFile).rotated()
            try ring.write(to: evidenceKeyFile)
            try printJSON(RotatedKeys(signingKey: ring.current.id, keys: ring.keys.count))
        }
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the API (migrations run first).")

    @Option var host = "127.0.0.1"
    @Option var port = 8080
    @Option(help: "Also listen for ISO 8583 messages from card networks on this TCP port.")
    var iso8583Port: Int?
    @Option(help: "Address of the ISO 8583 listener.")
    var iso8583Host = "127.0.0.1"
    @OptionGroup var cardDataKey: CardDataKeyOption
    @OptionGroup var evidenceKeys: EvidenceKeyOption
    @OptionGroup var database: DatabaseOption

    func run() async throws {
        let logger = makeLogger()
        let environment = ProcessInfo.processInfo.environment
        let policy: OutboundURLPolicy
        var delivery = WebhookDeliverySettings()
        do {
            policy = try OutboundURLPolicy(allowedNetworksList: environment["ZENTRA_WEBHOOK_ALLOWED_NETWORKS"] ?? "")
            if let schedule = environment["ZENTRA_WEBHOOK_RETRY_SCHEDULE"] { delivery.schedule = try WebhookRetrySchedule(parsing: schedule) }
        } catch {
            throw ValidationError(error.message)
        }
        let retentionHours = try Self.wholeNumber("ZENTRA_IDEMPOTENCY_RETENTION_HOURS", of: "hours", in: Int64(24)...(24 * 366), environment) ?? 24
        var iso8583: ISO8583Listener.Settings?
        if let iso8583Port {
            guard (0...65_535).contains(iso8583Port) else { throw ValidationError("--iso8583-port: \(iso8583Port) is not a TCP port") }
            let networks: [IPNetwork]
            do {
                networks = try IPNetwork.list(environment["ZENTRA_ISO8583_ALLOWED_NETWORKS"] ?? "", setting: "ZENTRA_ISO8583_ALLOWED_NETWORKS")
            } catch {
                throw ValidationError(error.message)
            }
            iso8583 = ISO8583Listener.Settings(host: iso8583Host, port: iso8583Port, allowedNetworks: networks)
        }
        if let timeout = try Self.wholeNumber("ZENTRA_WEBHOOK_TIMEOUT_MS", of: "milliseconds", in: 100...60_000, environment) {
            delivery.timeoutMs = timeout
        }
        if let concurrency = try Self.wholeNumber("ZENTRA_WEBHOOK_CONCURRENCY", of: "sends in flight per endpoint",
                                                  in: WebhookDeliverySettings.concurrencyRange, environment) {
            delivery.concurrency = concurrency
        }
        var rateLimit = RateLimitSettings()
        for (name, setting) in [("ZENTRA_RATE_LIMIT", \RateLimitSettings.perSecond), ("ZENTRA_RATE_LIMIT_NETWORK", \.networkPerSecond)] {
            if let perSecond = try Self.wholeNumber(name, of: "requests per second (0: off)", in: Int64(0)...1_000_000, environment) {
                rateLimit[keyPath: setting] = perSecond
            }
        }
        var timeouts = ConnectionTimeouts()
        for (name, setting) in [("ZENTRA_HTTP_HEADER_TIMEOUT_MS", \ConnectionTimeouts.header), ("ZENTRA_HTTP_IDLE_TIMEOUT_MS", \.idle)] {
            if let timeout = try Self.wholeNumber(name, of: "milliseconds", in: Int64(100)...3_600_000, environment) {
                timeouts[keyPath: setting] = .milliseconds(timeout)
            }
        }
        do {
            var configuration = AppConfiguration(
                host: host, port: port, database: try database.url(), outboundURLPolicy: policy, cardDataKey: try cardDataKey.load(),
                evidenceKeys: try evidenceKeys.load())
            configuration.webhookDelivery = delivery
            configuration.iso8583 = iso8583
            configuration.rateLimit = rateLimit
            configuration.connectionTimeouts = timeouts
            configuration.idempotencyRetentionSeconds = retentionHours * 3600
            let app = try buildApplication(services: try makeServices(configuration: configuration, logger: logger), logger: logger)
            try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
        } catch {
            FileHandle.standardError.write(Data("zentra: error: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }

    /// The whole number `name` sets in the environment, within `range`; nil when it is not set.
    static func wholeNumber<T: FixedWidthInteger>(_ name: String, of unit: String, in range: ClosedRange<T>,
                                                 _ environment: [String: String]) throws -> T? {
        guard let raw = environment[name] else { return nil }
        guard let value = T(raw), range.contains(value) else {
            throw ValidationError("\(name): '\(raw)' is not a whole number of \(unit) from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply database migrations and exit.")
    @OptionGroup var database: DatabaseOption

    func run() async throws {
        let url = try database.url()
        let applied = try await withStore(url, creating: true, migrating: false) { store in
            try await Startup.migrate(engine: store.engine, clock: store.clock, database: url, logger: store.logger)
        }
        let latest = Migrations.latestVersion
        print(applied.isEmpty ? "migrations up to date (schema version \(latest))"
                              : "applied migrations \(applied.map(String.init).joined(separator: ", ")) (schema version \(latest))")
    }
}

struct TenantCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tenant", abstract: "Manage tenants.", subcommands: [Create.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a tenant and print its first admin key.")
        @Argument var name: String
        @OptionGroup var database: DatabaseOption

        func run() async throws {
            let name = self.name
            let (tenant, key) = try await withStore(try database.url()) { store in
                try await TenantRepository.createTenant(name: name, store: store)
            }
            try printJSON(["tenant": tenant.id.rawValue, "api_key": key.apiKey])
        }
    }
}

struct KeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "key", abstract: "Manage API keys.", subcommands: [Create.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an API key and print it (shown once).")
        @Option var tenant: String
        @Option var role: String
        @Option var name: String?
        @OptionGroup var database: DatabaseOption

        func run() async throws {
            guard let role = Role(rawValue: role) else {
                throw ValidationError("--role must be one of \(Role.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let name = self.name
            let key = try await withTenant(tenant, try database.url()) { store, tenantID in
                try await store.write(WriteScope(tenant: tenantID, actor: "cli", requestID: nil)) { tx in
                    try await tx.apiKeys.create(role: role, name: name)
                }
            }
            try printJSON(["id": key.id.rawValue, "api_key": key.apiKey, "role": role.rawValue])
        }
    }
}

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "audit", abstract: "Audit log tools.", subcommands: [Verify.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check a tenant's audit hash chain; exits 1 if it is broken.")
        @Option var tenant: String
        @OptionGroup var database: DatabaseOption

        func run() async throws {
            let result = try await withTenant(tenant, try database.url()) { store, tenantID in
                try await store.read(tenant: tenantID) { try await $0.auditLog.verify() }
            }
            try printJSON(result)
            if !result.valid { throw ExitCode.failure }
        }
    }
}
