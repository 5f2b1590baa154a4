import Foundation
import Synchronization
import ZentraCore
import ZentraStorage

/// The two storage engines every behaviour test runs against (`@Test(arguments: Backend.allCases)`).
public enum Backend: String, CaseIterable, CustomStringConvertible, Sendable {
    case sqlite
    case postgres

    public var description: String { rawValue }

    /// A new, empty database of this engine: a temporary SQLite file, or a database of its own on
    /// the test process's throwaway PostgreSQL server.
    public func makeDatabaseURL() async throws -> DatabaseURL {
        switch self {
        case .sqlite:
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("zentra-test-\(UUID().uuidString).sqlite").path
            return .sqlite(path: path)
        case .postgres:
            return .postgres(try await TestPostgres.shared.makeDatabase())
        }
    }
}

extension DatabaseURL {
    /// Deletes a temporary SQLite database's files (PostgreSQL test databases go with the server).
    public func removeTemporaryFiles() {
        guard case .sqlite(let path) = self else { return }
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }
}

/// A clock the test sets: spend windows, expiry and hold lifetimes are tested at chosen instants.
public final class TestClock: WallClock {
    private let instant: Mutex<Timestamp>

    public init(_ rfc3339: String) { instant = Mutex(Timestamp(rfc3339: rfc3339)!) }

    public func now() -> Timestamp { instant.withLock { $0 } }

    public func set(_ rfc3339: String) { instant.withLock { $0 = Timestamp(rfc3339: rfc3339)! } }
}

extension Store {
    /// Counts of the rows a write could leave behind (of one tenant, or of all), to prove a refused
    /// request wrote nothing.
    public func footprint(of tenant: TenantID? = nil) async throws -> [String: Int64] {
        try await engine.withReader { sql in
            var counts: [String: Int64] = [:]
            for table in ["customers", "accounts", "deposits", "journal_entries", "ledger_entries", "events", "audit_log", "runtime_intents", "authorizations",
                          "clearings", "transactions", "reconciliation_cases", "settlements", "disputes"] {
                let row = if let tenant {
                    try await sql.queryOne("SELECT COUNT(*) AS n FROM \(raw: table) WHERE tenant_id = \(tenant.rawValue)")
                } else {
                    try await sql.queryOne("SELECT COUNT(*) AS n FROM \(raw: table)")
                }
                counts[table] = try row!.int("n")
            }
            return counts
        }
    }
}
