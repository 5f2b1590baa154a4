import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import NIOCore
import Testing
import ZentraCore
@testable import ZentraHTTP
import ZentraStorage
import ZentraTestSupport

/// A response read in full.
struct TestReply {
    let status: HTTPResponse.Status
    let headers: HTTPFields
    let body: [UInt8]

    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:] }
    var text: String { String(decoding: body, as: UTF8.self) }
    var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
    var errorParam: String? { (json["error"] as? [String: Any])?["param"] as? String }
    var id: String { json["id"] as? String ?? "" }
    var list: [[String: Any]] { json["data"] as? [[String: Any]] ?? [] }
}

/// One running application on a fresh database with one tenant and its admin key.
struct TestEnvironment: Sendable {
    let client: any TestClientProtocol
    let services: AppServices
    let tenant: TenantID
    let adminKey: String

    var store: Store { services.store }

    /// Builds the same application `zentra serve` runs, on a new database of `backend`, and runs `body`.
    static func run(
        _ backend: Backend, clock: any WallClock = SystemClock(), configure: (inout AppConfiguration) -> Void = { _ in },
        _ body: @escaping @Sendable (TestEnvironment) async throws -> Void
    ) async throws {
        let database = try await backend.makeDatabaseURL()
        try await run(database: database, clock: clock, configure: configure, body)
    }

    /// - Parameter tenant: a tenant the database already holds and its admin key; nil makes a new one.
    static func run(
        database: DatabaseURL, clock: any WallClock = SystemClock(), tenant existing: (TenantID, String)? = nil,
        configure: (inout AppConfiguration) -> Void = { _ in },
        _ body: @escaping @Sendable (TestEnvironment) async throws -> Void
    ) async throws {
        var logger = Logger(label: "zentra-test")
        logger.logLevel = .error
        var configuration = AppConfiguration(database: database)
        // Dozens of tests open pools at once on two cores; behaviour, not connection latency, is under test.
        configuration.databaseLeaseTimeout = .seconds(30)
        // Tests send hundreds of requests a second with one key; RateLimitTests turn the limit on.
        configuration.rateLimit.perSecond = 0
        // Tests that tamper with the audit log move the checkpoint themselves (`AuditCheckpoints.advance`).
        configuration.auditCheckpointInterval = .seconds(3600)
        // Holds expire when a test moves its clock and releases them (`HoldExpiry.releaseDue`), not
        // on a real-time timer that may fire while the test clock stands anywhere.
        configuration.holdExpiryInterval = .seconds(3600)
        configure(&configuration)
        let services = try makeServices(configuration: configuration, logger: logger, clock: clock)
        let app = try buildApplication(services: services, logger: logger)
        try await app.test(.router) { client in
            if let (tenant, key) = existing {
                try await body(TestEnvironment(client: client, services: services, tenant: tenant, adminKey: key))
            } else {
                let (tenant, key) = try await TenantRepository.createTenant(name: "test tenant", store: services.store)
                try await body(TestEnvironment(client: client, services: services, tenant: tenant.id, adminKey: key.apiKey))
            }
        }
        database.removeTemporaryFiles()
    }

    /// Sends a request with this tenant's admin key unless another key (or none: "") is given.
    @discardableResult
    func request(
        _ method: HTTPRequest.Method, _ path: String, json: String? = nil, key: String? = nil,
        headers extra: [String: String] = [:]
    ) async throws -> TestReply {
        var headers: HTTPFields = [:]
        let key = key ?? adminKey
        if !key.isEmpty { headers[.authorization] = "Bearer \(key)" }
        if json != nil { headers[.contentType] = "application/json" }
        for (name, value) in extra { headers[HTTPField.Name(name)!] = value }
        return try await client.execute(
            uri: path, method: method, headers: headers, body: json.map { ByteBuffer(string: $0) }
        ) { response in
            TestReply(status: response.status, headers: response.headers, body: Array(response.body.readableBytesView))
        }
    }

    func post(_ path: String, _ json: String = "{}", key: String? = nil, headers: [String: String] = [:]) async throws -> TestReply {
        try await request(.post, path, json: json, key: key, headers: headers)
    }

    func get(_ path: String, key: String? = nil) async throws -> TestReply {
        try await request(.get, path, key: key)
    }

    // MARK: Fixtures

    func createCustomer(kyc: String = "verified", key: String? = nil) async throws -> String {
        let reply = try await post("/customers", #"{"name": "Ada Lovelace", "email": "ada@example.com", "kyc_status": "\#(kyc)"}"#, key: key)
        #expect(reply.status == .created, "\(reply.text)")
        return reply.id
    }

    func createAccount(customer: String, currency: String = "USD", key: String? = nil) async throws -> String {
        let reply = try await post("/accounts", #"{"customer": "\#(customer)", "currency": "\#(currency)", "kind": "wallet"}"#, key: key)
        #expect(reply.status == .created, "\(reply.text)")
        return reply.id
    }

    func deposit(_ account: String, _ amount: Int64, reference: String = UUID().uuidString, key: String? = nil,
                 idempotencyKey: String? = nil) async throws -> TestReply {
        try await post("/accounts/\(account)/deposits", #"{"amount_minor": \#(amount), "transaction_reference": "\#(reference)"}"#,
                       key: key, headers: idempotencyKey.map { ["Idempotency-Key": $0] } ?? [:])
    }

    func createKey(role: String) async throws -> String {
        let reply = try await post("/api-keys", #"{"role": "\#(role)", "name": "\#(role) key"}"#)
        #expect(reply.status == .created, "\(reply.text)")
        return reply.json["api_key"] as? String ?? ""
    }

    /// A second tenant on the same database, for isolation tests.
    func otherTenantKey() async throws -> String {
        try await TenantRepository.createTenant(name: "other tenant", store: store).1.apiKey
    }

    /// Counts of the rows a write could leave behind (`Store.footprint`).
    func footprint(of tenant: TenantID? = nil) async throws -> [String: Int64] {
        try await store.footprint(of: tenant)
    }
}
