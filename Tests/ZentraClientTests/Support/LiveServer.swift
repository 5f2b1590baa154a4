import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing
import ZentraApp
import ZentraClient
import ZentraCore
@testable import ZentraHTTP
import ZentraStorage

/// The server `zentra serve` runs, listening on a free port on a new SQLite database, with one
/// tenant; the SDK talks to it over real HTTP.
struct LiveServer: Sendable {
    let baseURL: URL
    let adminKey: String
    let store: Store

    /// A client of this server with `key` (the admin key unless given).
    func client(key: String? = nil, baseURL: URL? = nil, retry: RetryPolicy = .fast) -> Zentra {
        Zentra(apiKey: key ?? adminKey, baseURL: baseURL ?? self.baseURL, configuration: .init(retry: retry))
    }

    /// - Parameter database: a database an earlier run left (nil: a new one, removed afterwards).
    static func run(
        database: String? = nil, configure: (inout AppConfiguration) -> Void = { _ in },
        _ body: @escaping @Sendable (LiveServer) async throws -> Void
    ) async throws {
        let path = database ?? FileManager.default.temporaryDirectory.appendingPathComponent("zentra-sdk-\(UUID().uuidString).sqlite").path
        var logger = Logger(label: "zentra-sdk-test")
        logger.logLevel = .error
        var configuration = AppConfiguration(database: .sqlite(path: path))
        configuration.host = "127.0.0.1"
        configuration.port = 0
        configuration.outboundURLPolicy = try ZentraCore.OutboundURLPolicy(allowedNetworksList: "127.0.0.0/8")
        configure(&configuration)
        let services = try makeServices(configuration: configuration, logger: logger)
        let app = try buildApplication(services: services, logger: logger)
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let (_, key) = try await TenantRepository.createTenant(name: "sdk tenant", store: services.store)
            try await body(LiveServer(baseURL: URL(string: "http://127.0.0.1:\(port)")!, adminKey: key.apiKey, store: services.store))
        }
        if database == nil {
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        }
    }
}

extension RetryPolicy {
    /// Retries without waiting long: the tests prove what is retried, not how long it waits.
    static let fast = RetryPolicy(maxRetries: 3, initialDelay: .milliseconds(1), maxDelay: .milliseconds(5))
}
