import Testing
import ZentraCore
@testable import ZentraStorage
import ZentraTestSupport

/// A page of rows read by id is looked up by primary key however large the tenant grows. Without
/// statistics SQLite would rather walk the tenant's whole index for ten ids or more: a list of 20
/// authorizations took 15 ms on a fresh database and 62 ms four minutes of load later.
@Suite struct QueryPlanTests {
    @Test func rowsOfAPageAreFoundByTheirIdsNotByTheirTenant() async throws {
        try await StorageEnvironment.run(.sqlite) { env in
            let ids = (0..<20).map { "id_\($0)" }
            for (table, alias) in [("authorizations", "a"), ("events", "e"), ("cards", "c"), ("ledger_accounts", "l"), ("disputes", "d")] {
                let plan = try await env.store.engine.withReader { sql in
                    try await sql.query("EXPLAIN QUERY PLAN SELECT * FROM \(raw: table) \(raw: alias) WHERE " + SQL.rows(ids, ofTenant: env.tenant, alias: alias))
                }
                let details = try plan.map { try $0.string("detail") }
                #expect(details.contains { $0.contains("(id=?)") } && !details.contains { $0.contains("tenant_id=?") }, "\(table): \(details)")
            }
        }
    }

    /// Claiming due deliveries reads the claimed rows by id, not every delivery of the tenant.
    @Test func dueDeliveriesAreReadByTheirIdsNotByTheirTenant() async throws {
        try await StorageEnvironment.run(.sqlite) { env in
            let statements = try await env.store.write(WriteScope(tenant: env.tenant, actor: "test", requestID: nil)) { tx in
                tx.webhookDeliveries.dueStatements([(WebhookEndpointID(unchecked: "we_1"), 64), (WebhookEndpointID(unchecked: "we_2"), 64)])
            }
            let statement = try #require(statements.first)
            let plan = try await env.store.engine.withReader { sql in try await sql.query("EXPLAIN QUERY PLAN " + statement) }
            let details = try plan.map { try $0.string("detail") }
            #expect(details.first { $0.hasPrefix("SEARCH webhook_deliveries") }?.contains("(id=?)") == true, "\(details)")
            #expect(!details.contains { $0.contains("webhook_deliveries_by_endpoint") }, "\(details)")
        }
    }

    /// An endpoint's next events are read along the events' (tenant, sequence) key from its place,
    /// not by reading the tenant's events.
    @Test func streamEventsAreReadAlongTheSequenceKey() async throws {
        try await StorageEnvironment.run(.sqlite) { env in
            let statements = try await env.store.write(WriteScope(tenant: env.tenant, actor: "test", requestID: nil)) { tx in
                tx.webhookDeliveries.streamStatements([(10, 2_010, ["authorization.*", "card.created"], 64), (5, 2_005, ["*"], 64)])
            }
            let statement = try #require(statements.first)
            let plan = try await env.store.engine.withReader { sql in try await sql.query("EXPLAIN QUERY PLAN " + statement) }
            let details = try plan.map { try $0.string("detail") }
            let searches = details.filter { $0.contains(" events ") }
            #expect(searches.count == 2 && searches.allSatisfy { $0.contains("tenant_id=? AND sequence>? AND sequence<?") }, "\(details)")
        }
    }
}
