import ServiceLifecycle

/// Runs statements inside one engine scope: a transaction for writes, a connection for reads.
public protocol SQLExecutor: Sendable {
    var dialect: Dialect { get }
    func query(_ sql: SQL) async throws -> [SQLRow]
    func execute(_ sql: SQL) async throws
    /// One statement, rendered once for this dialect (`?` or `$n` placeholders), run once for each
    /// row of values; the rows every run returned. Many rows of one shape cost one rendering, and
    /// on SQLite one call into the writer.
    func run(_ text: String, rows: [[SQLValue]]) async throws -> [SQLRow]
    /// The write transaction's batch, where units queue what is written at its end; nil for reads.
    var batch: CommitBatch? { get }
}

extension SQLExecutor {
    public var batch: CommitBatch? { nil }
    public func queryOne(_ sql: SQL) async throws -> SQLRow? { try await query(sql).first }
}

/// A database engine: SQLite (embedded) or PostgreSQL. Everything above it is written once.
public protocol DatabaseEngine: Sendable {
    var dialect: Dialect { get }
    /// Statements outside a transaction, for reads.
    func withReader<T: Sendable>(_ body: @escaping @Sendable (any SQLExecutor) async throws -> T) async throws -> T
    /// One transaction: committed when `body` returns, rolled back when it throws.
    func withTransaction<T: Sendable>(_ body: @escaping @Sendable (any SQLExecutor) async throws -> T) async throws -> T
    /// An item of set-based work: run with the other items of its kind that arrive meanwhile, in
    /// one transaction, by `work` (see `GroupCommit`).
    func withItem<W: BatchWork>(_ item: W.Item, of work: W) async throws -> W.Answer
    /// Checks that the database answers; used by `/readyz` and at start.
    func ping() async throws
    /// Connections in use and the pool's size, for `/metrics`.
    var poolUsage: PoolUsage { get }
    /// A background service the engine needs running (PostgreSQL's pool), if any.
    var service: (any Service)? { get }
    func close() async throws
}

public struct PoolUsage: Sendable {
    public let inUse: Int
    public let size: Int
}

/// Failures of the storage layer; the application maps them to `DomainError` in one place.
public enum StoreError: Error, Sendable, CustomStringConvertible {
    /// The database cannot be reached (down, network lost, pool closed).
    case unavailable(String)
    /// The connection ended mid-statement (the server shut down or crashed, the network dropped):
    /// the server has ended its transaction, and nothing more can be sent on it.
    case connectionLost(String)
    /// A unique constraint refused a row; the string names the constraint or column when known.
    case uniqueViolation(String)
    /// The transaction lost a race (serialization failure, deadlock, busy); safe to run again.
    case retryable(String)
    case decoding(String)
    case other(String)

    public var description: String {
        switch self {
        case .unavailable(let m): "database unavailable: \(m)"
        case .connectionLost(let m): "database connection lost: \(m)"
        case .uniqueViolation(let m): "unique violation: \(m)"
        case .retryable(let m): "retryable conflict: \(m)"
        case .decoding(let m): "decoding: \(m)"
        case .other(let m): "database error: \(m)"
        }
    }
}
