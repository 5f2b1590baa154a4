import Foundation
import Testing
import ZentraCore
import ZentraStorage
import ZentraTestSupport

/// What every engine behind the store port promises, run against SQLite and PostgreSQL alike: the
/// services above it are written against these promises, not against either engine.
@Suite struct StoreContractTests {
    struct Refused: Error {}

    @Test(arguments: Backend.allCases)
    func aUnitOfWorkCommitsWholeOrNotAtAll(_ backend: Backend) async throws {
        try await StorageEnvironment.run(backend) { env in
            let engine = env.store.engine
            try await engine.withTransaction { sql in try await sql.execute("CREATE TABLE atomic_probe (n BIGINT PRIMARY KEY)") }
            await #expect(throws: Refused.self) {
                try await engine.withTransaction { sql in
                    for n in 0..<3 { try await sql.execute("INSERT INTO atomic_probe (n) VALUES (\(Int64(n)))") }
                    throw Refused()
                }
            }
            #expect(try await count("atomic_probe", engine) == 0, "a unit that threw after writing left nothing")

            // A reader sees a unit's rows only once it has committed.
            try await engine.withTransaction { sql in
                try await sql.execute("INSERT INTO atomic_probe (n) VALUES (1)")
                #expect(try await count("atomic_probe", engine) == 0, "uncommitted rows are invisible to readers")
            }
            #expect(try await count("atomic_probe", engine) == 1)
        }
    }

    @Test(arguments: Backend.allCases)
    func aDuplicateKeyIsAUniqueViolationOnEveryEngine(_ backend: Backend) async throws {
        try await StorageEnvironment.run(backend) { env in
            let engine = env.store.engine
            try await engine.withTransaction { sql in
                try await sql.execute("CREATE TABLE unique_probe (k TEXT PRIMARY KEY)")
                try await sql.execute("INSERT INTO unique_probe (k) VALUES ('a')")
            }
            var mapped = false
            do {
                try await engine.withTransaction { sql in try await sql.execute("INSERT INTO unique_probe (k) VALUES ('a')") }
            } catch StoreError.uniqueViolation {
                mapped = true
            }
            #expect(mapped, "a duplicate key surfaces as StoreError.uniqueViolation, which Store.write runs once more")
            #expect(try await count("unique_probe", engine) == 1)
        }
    }

    @Test(arguments: Backend.allCases)
    func valuesComeBackAsTheyWereBound(_ backend: Backend) async throws {
        try await StorageEnvironment.run(backend) { env in
            let engine = env.store.engine
            let texts = ["", "plain", "Zürich · 東京 · 🙂", "quote ' and \\ backslash", String(repeating: "x", count: 10_000)]
            let ints: [Int64] = [.min, -1, 0, 1, .max]
            let blob: [UInt8] = Array(0...255)
            try await engine.withTransaction { sql in
                try await sql.execute("CREATE TABLE value_probe (n BIGINT PRIMARY KEY, i BIGINT, t TEXT, b \(raw: sql.dialect == .postgres ? "BYTEA" : "BLOB"))")
                for (index, value) in ints.enumerated() {
                    try await sql.execute("INSERT INTO value_probe (n, i, t, b) VALUES (\(Int64(index)), \(value), \(texts[index]), \(blob))")
                }
                try await sql.execute("INSERT INTO value_probe (n, i, t, b) VALUES (99, NULL, NULL, NULL)")
            }
            let rows = try await engine.withReader { sql in try await sql.query("SELECT n, i, t, b FROM value_probe ORDER BY n") }
            #expect(try rows.dropLast().map { try $0.int("i") } == ints)
            #expect(try rows.dropLast().map { try $0.string("t") } == Array(texts.prefix(ints.count)))
            #expect(try rows.dropLast().allSatisfy { try $0.bytes("b") == blob })
            let empty = try #require(rows.last)
            #expect(try empty.optionalInt("i") == nil && empty.optionalString("t") == nil)
        }
    }

    /// Every repository query carries its tenant: another tenant's scope finds nothing, by id or list.
    @Test(arguments: Backend.allCases)
    func aTenantSeesNoneOfAnotherTenantsRows(_ backend: Backend) async throws {
        try await StorageEnvironment.run(backend) { env in
            let (other, _) = try await TenantRepository.createTenant(name: "other tenant", store: env.store)
            let customer = try await env.store.write(WriteScope(tenant: env.tenant, actor: "test", requestID: nil)) { tx in
                let customer = Customer(id: tx.newID(), name: "Ada", email: "ada@example.com", kycStatus: .verified, createdAt: tx.now, updatedAt: tx.now)
                try await tx.customers.insert(customer)
                try tx.emit(.customerCreated, objectType: .customer, objectID: customer.id.rawValue, data: customer)
                return customer
            }
            let own = try await env.store.read(tenant: env.tenant) { scope in
                (try await scope.customers.find(customer.id), try await scope.events.newest(about: [customer.id.rawValue], limit: 10).count)
            }
            #expect(own.0 == customer && own.1 == 1)
            let foreign = try await env.store.read(tenant: other.id) { scope in
                (try await scope.customers.find(customer.id), try await scope.customers.list(PageRequest(limit: 10)).data.count,
                 try await scope.events.newest(about: [customer.id.rawValue], limit: 10).count)
            }
            #expect(foreign.0 == nil && foreign.1 == 0 && foreign.2 == 0)
        }
    }

    /// Racing claims of one idempotency key: exactly one runs the request, the rest learn it is in
    /// progress; another request body is refused, and the same key of another tenant is its own.
    @Test(arguments: Backend.allCases)
    func anIdempotencyKeyIsClaimedExactlyOnce(_ backend: Backend) async throws {
        try await StorageEnvironment.run(backend) { env in
            let now = env.store.clock.now()
            @Sendable func claim(_ tenant: TenantID, fingerprint: String = "f1", token: String) async throws -> IdempotencyOutcome {
                try await IdempotencyRecords.claim(tenant: tenant, key: "key-1", fingerprint: fingerprint, token: token, now: now,
                                                   leaseSeconds: 60, retentionSeconds: 86_400, engine: env.store.engine)
            }
            let outcomes = try await withThrowingTaskGroup(of: IdempotencyOutcome.self) { group in
                for n in 0..<20 { group.addTask { try await claim(env.tenant, token: "t\(n)") } }
                return try await group.reduce(into: [IdempotencyOutcome]()) { $0.append($1) }
            }
            let claimed = outcomes.filter { if case .claimed = $0 { true } else { false } }.count
            let waiting = outcomes.filter { if case .inProgress = $0 { true } else { false } }.count
            #expect(claimed == 1 && waiting == 19)
            guard case .reusedWithDifferentRequest = try await claim(env.tenant, fingerprint: "f2", token: "t99") else {
                Issue.record("another body under the same key was not refused")
                return
            }
            let (other, _) = try await TenantRepository.createTenant(name: "other tenant", store: env.store)
            guard case .claimed = try await claim(other.id, token: "t100") else {
                Issue.record("another tenant's key of the same name was not its own")
                return
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func migrationsRunOnceAndAgainChangeNothing(_ backend: Backend) async throws {
        try await StorageEnvironment.run(backend) { env in
            #expect(try await Migrations.run(on: env.store.engine, clock: env.store.clock).isEmpty)
            let versions = try await env.store.engine.withReader { sql in
                try await sql.query("SELECT version FROM schema_migrations ORDER BY version").map { try $0.int("version") }
            }
            #expect(versions == Array(1...Migrations.latestVersion))
        }
    }

    private func count(_ table: String, _ engine: any DatabaseEngine) async throws -> Int64 {
        try await engine.withReader { sql in try await sql.queryOne("SELECT COUNT(*) AS n FROM \(raw: table)")!.int("n") }
    }
}
