import Logging
import ZentraCore
import ZentraStorage

/// A migrated database of one engine with one tenant, and the store over it: what a storage test
/// needs, without the HTTP application around it.
public struct StorageEnvironment: Sendable {
    public let store: Store
    public let tenant: TenantID
    public let database: DatabaseURL

    /// Runs `body` on a new database of `backend`, then closes and deletes it.
    public static func run(
        _ backend: Backend, clock: any WallClock = SystemClock(), _ body: @escaping @Sendable (StorageEnvironment) async throws -> Void
    ) async throws {
        var logger = Logger(label: "zentra-storage-test")
        logger.logLevel = .error
        let database = try await backend.makeDatabaseURL()
        defer { database.removeTemporaryFiles() }
        // Dozens of tests open pools at once on two cores; behaviour, not connection latency, is under test.
        let engine = try database.makeEngine(logger: logger, leaseTimeout: .seconds(30))
        // PostgreSQL's pool serves queries only while it runs.
        let pool = engine.service.map { service in Task { try await service.run() } }
        defer { pool?.cancel() }
        let store = Store(engine: engine, ids: TimeOrderedIDGenerator(clock: clock), clock: clock, logger: logger)
        do {
            _ = try await Migrations.run(on: engine, clock: clock)
            let (tenant, _) = try await TenantRepository.createTenant(name: "test tenant", store: store)
            try await body(StorageEnvironment(store: store, tenant: tenant.id, database: database))
        } catch {
            try? await engine.close()
            throw error
        }
        try await engine.close()
    }
}
