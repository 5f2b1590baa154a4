import Foundation
import Testing
import ZentraCore
@testable import ZentraStorage
import ZentraTestSupport
import ZentraTestSupport

/// Units of work that share one transaction stay atomic on their own, on both engines.
@Suite struct GroupCommitTests {
    struct Refused: Error {}

    @Test(arguments: Backend.allCases)
    func aFailingUnitLeavesNothingAndTheOthersCommit(_ backend: Backend) async throws {
        try await StorageEnvironment.run(backend) { env in
            let engine = env.store.engine
            try await engine.withTransaction { sql in try await sql.execute("CREATE TABLE group_probe (n BIGINT PRIMARY KEY)") }
            let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
                for n in 0..<200 {
                    group.addTask {
                        do {
                            try await engine.withTransaction { sql in
                                try await sql.execute("INSERT INTO group_probe (n) VALUES (\(n))")
                                if n % 3 == 0 { throw Refused() }   // after writing: its row must go
                                if n % 7 == 0 { try await sql.execute("INSERT INTO group_probe (n) VALUES (\(n))") }   // its own unique violation
                            }
                            return true
                        } catch is Refused {
                            return false
                        } catch StoreError.uniqueViolation {
                            return false
                        }
                    }
                }
                return try await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            let rows = try await engine.withReader { sql in try await sql.query("SELECT n FROM group_probe ORDER BY n") }.map { try $0.int("n") }
            let expected = (0..<200).filter { $0 % 3 != 0 && $0 % 7 != 0 }.map(Int64.init)
            #expect(rows == expected)
            #expect(outcomes.filter { $0 }.count == expected.count)
        }
    }

    /// Events and audit records are numbered and chained once per shared transaction: racing units of
    /// two tenants, a third of them failing after they queued theirs, leave gap-free numbers, a valid
    /// chain per tenant, and nothing of the failed ones.
    @Test(arguments: Backend.allCases)
    func racingUnitsOfTwoTenantsNumberAndChainWithoutGaps(_ backend: Backend) async throws {
        try await StorageEnvironment.run(backend) { env in
            let (other, _) = try await TenantRepository.createTenant(name: "second tenant", store: env.store)
            let tenants = [env.tenant, other.id]
            let before = try await env.store.footprint()
            let kept = try await withThrowingTaskGroup(of: Bool.self) { group in
                for n in 0..<120 {
                    group.addTask {
                        let scope = WriteScope(tenant: tenants[n % 2], actor: "test", requestID: "req_\(n)")
                        do {
                            try await env.store.write(scope) { tx in
                                let customer = Customer(id: tx.newID(), name: "Racer \(n)", email: "r\(n)@example.com", kycStatus: .verified,
                                                        createdAt: tx.now, updatedAt: tx.now)
                                try await tx.customers.insert(customer)
                                try tx.emit(.customerCreated, objectType: .customer, objectID: customer.id.rawValue, data: customer)
                                tx.audit(.event(.customerCreated), objectType: .customer, objectID: customer.id.rawValue)
                                try tx.emit(.customerKYCUpdated, objectType: .customer, objectID: customer.id.rawValue, data: ["n": n])
                                if n % 3 == 0 { throw Refused() }
                            }
                            return true
                        } catch is Refused {
                            return false
                        }
                    }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(kept == 80)
            let after = try await env.store.footprint()
            #expect(after["customers"]! - before["customers"]! == 80)
            #expect(after["events"]! - before["events"]! == 160)
            #expect(after["audit_log"]! - before["audit_log"]! == 80)
            for tenant in tenants {
                let numbers = try await env.store.engine.withReader { sql in
                    (try await sql.query("SELECT sequence FROM events WHERE tenant_id = \(tenant) ORDER BY sequence").map { try $0.int("sequence") },
                     try await sql.query("SELECT sequence FROM audit_log WHERE tenant_id = \(tenant) ORDER BY sequence").map { try $0.int("sequence") })
                }
                #expect(numbers.0 == Array(1...Int64(numbers.0.count)), "events of \(tenant) are numbered without gaps")
                #expect(numbers.1 == Array(1...Int64(numbers.1.count)), "audit records of \(tenant) are numbered without gaps")
                #expect(try await env.store.read(tenant: tenant) { try await $0.auditLog.verify() }.valid, "the chain of \(tenant) holds")
            }
        }
    }
}

@Suite struct WriterSyncTests {
    /// An answered unit of work is on disk: SQLite's WAL is synced beside the writer before answers
    /// go (`WALSync`), the writer itself committing with `synchronous = NORMAL` (1). Were the WAL not
    /// open for syncing, the writer would have to sync at every commit (`FULL`, 2).
    @Test func theSQLiteWALIsSyncedBeforeAnswers() async throws {
        try await StorageEnvironment.run(.sqlite) { env in
            let engine = try #require(env.store.engine as? SQLiteEngine)
            #expect(engine.syncsBesideTheWriter)
            let rows = try await engine.withTransaction { sql in try await sql.query("PRAGMA synchronous") }
            #expect(try rows.first?.int("synchronous") == 1)
        }
    }
}

@Suite struct IdentifierTests {
    @Test func idsAreUniqueAndSortByCreationTime() async throws {
        let clock = TestClock("2026-11-23T10:00:00Z")
        let generator = TimeOrderedIDGenerator(clock: clock)
        let first = (0..<1_000).map { _ in generator.nextBody() }
        clock.set("2026-11-23T10:00:00.001Z")
        let later = generator.nextBody()
        #expect(Set(first).count == first.count)
        #expect(first.allSatisfy { $0.count == 22 && $0 < later })
        #expect(Set(first.map { $0.dropFirst(8) }).count == first.count, "the random part alone tells them apart")
    }
}
