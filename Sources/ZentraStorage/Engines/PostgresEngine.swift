import Logging
import NIOSSL
import NIOCore
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// PostgreSQL through PostgresNIO's `PostgresClient` pool, for production: several `zentra serve`
/// processes share one database.
///
/// Isolation is READ COMMITTED with explicit row locks (`SELECT … FOR UPDATE`, always taken in id
/// order) on the rows a decision depends on, plus unique constraints for everything keyed by the
/// client. A unit of work that still loses a race (deadlock, serialization failure) is rolled back to
/// its savepoint and run again by `Store`, which is safe because a unit only touches its transaction.
public final class PostgresEngine: DatabaseEngine {
    public let dialect = Dialect.postgres
    public let client: PostgresClient
    private let logger: Logger
    private let inUse = Atomic<Int>(0)
    /// Four transactions at once per process, each with the units that arrived while the others ran.
    /// One at a time waited on every statement's round trip; many at once would each hold their
    /// units' row locks longer and deadlock more often (PostgreSQL breaks a deadlock after
    /// `deadlock_timeout` by failing one unit, which `Store` runs again). Decisions run on the event
    /// loop that holds the connections (`EventLoopExecutor`).
    private let groupCommit: GroupCommit
    private let statements = ConnectionStatements()
    private let maximumConnections: Int
    /// How long a request waits for a connection before it answers 503.
    let leaseTimeout: Duration

    public init(url: DatabaseURL.Postgres, maximumConnections: Int = 20, leaseTimeout: Duration = .seconds(5), logger: Logger) {
        self.leaseTimeout = leaseTimeout
        var configuration = PostgresClient.Configuration(
            host: url.host, port: url.port, username: url.user, password: url.password,
            database: url.database, tls: Self.tls(url))
        configuration.options.maximumConnections = maximumConnections
        configuration.options.connectTimeout = .seconds(5)
        self.maximumConnections = maximumConnections
        // The pool logs every failed reconnect at info; keep those for debugging sessions only.
        var poolLogger = logger
        poolLogger.logLevel = max(logger.logLevel, .warning)
        // One loop holds every connection and runs the transactions (`EventLoopExecutor`).
        let loop = PostgresClient.defaultEventLoopGroup.next()
        self.client = PostgresClient(configuration: configuration, eventLoopGroup: loop, backgroundLogger: poolLogger)
        self.groupCommit = GroupCommit(lanes: 4, executor: EventLoopExecutor(loop))
        self.logger = logger
    }

    /// The URL's `sslmode` as the pool's TLS setting.
    static func tls(_ url: DatabaseURL.Postgres) -> PostgresClient.Configuration.TLS {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let root = url.sslRootCert { tls.trustRoots = .file(root) }
        switch url.sslMode {
        case .disable: return .disable
        case .prefer:
            tls.certificateVerification = .none
            return .prefer(tls)
        case .require:
            tls.certificateVerification = .none
            return .require(tls)
        case .verifyCA:
            tls.certificateVerification = .noHostnameVerification
            return .require(tls)
        case .verifyFull:
            tls.certificateVerification = .fullVerification
            return .require(tls)
        }
    }

    public var service: (any Service)? { client }

    public var poolUsage: PoolUsage { PoolUsage(inUse: inUse.load(ordering: .relaxed), size: maximumConnections) }

    public func withReader<T: Sendable>(_ body: @escaping @Sendable (any SQLExecutor) async throws -> T) async throws -> T {
        try await lease { connection in try await body(Executor(connection: connection, logger: self.logger, batch: nil, statements: self.statements)) }
    }

    /// Units of work share transactions (`GroupCommit`), each on a connection of its own.
    public func withTransaction<T: Sendable>(_ body: @escaping @Sendable (any SQLExecutor) async throws -> T) async throws -> T {
        try await groupCommit.submit(.unit(body)) { jobs in await self.transaction(jobs) }
    }

    public func withItem<W: BatchWork>(_ item: W.Item, of work: W) async throws -> W.Answer {
        try await groupCommit.submit(.item(item, GroupCommit.Runner(work))) { jobs in await self.transaction(jobs) }
    }

    /// Decisions stay on the connections' loop, a few short steps each. Units of work leave it for
    /// Swift's shared pool, as before: a clearing window plans hundreds of records in one step,
    /// which would hold up every other connection on the loop meanwhile.
    private func transaction(_ jobs: [GroupCommit.Job]) async -> [GroupCommit.Job] {
        guard jobs.first?.kind == nil else { return await run(jobs) }
        return await withTaskExecutorPreference(globalConcurrentExecutor) { await self.run(jobs) }
    }

    private func run(_ jobs: [GroupCommit.Job]) async -> [GroupCommit.Job] {
        let started = LeaseFlag()
        let deferred = Mutex<[GroupCommit.Job]>([])
        do {
            try await lease { connection in
                started.value.store(true, ordering: .sequentiallyConsistent)
                let batch = CommitBatch()
                let later = await GroupCommit.run(jobs, on: Executor(connection: connection, logger: self.logger, batch: batch, statements: self.statements),
                                                  batch: batch, begin: "BEGIN", withoutTransaction: true)
                deferred.withLock { $0 = later }
            }
        } catch {
            // Once the batch began, `run` answered every job, even if the lease reports a failure after.
            guard !started.value.load(ordering: .sequentiallyConsistent) else { return deferred.withLock { $0 } }
            for job in jobs { job.continuation.resume(throwing: error) }
        }
        return deferred.withLock { $0 }
    }

    public func ping() async throws {
        try await withReader { _ = try await $0.query("SELECT 1 AS one") }
    }

    public func close() async throws {}

    /// Leases a connection, failing fast with `unavailable` when none comes within `leaseTimeout`
    /// (the pool keeps retrying an unreachable database rather than failing). Only the wait for a
    /// connection is bounded: once `body` holds one, its answer is awaited, so a slow transaction
    /// that commits is never reported as failed.
    private func lease<T: Sendable>(_ body: @Sendable @escaping (PostgresConnection) async throws -> T) async throws -> T {
        inUse.add(1, ordering: .relaxed)
        defer { inUse.subtract(1, ordering: .relaxed) }
        let leased = LeaseFlag()
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await mapErrors {
                    try await self.client.withConnection { connection in
                        leased.value.store(true, ordering: .sequentiallyConsistent)
                        return try await body(connection)
                    }
                }
            }
            group.addTask {
                try await Task.sleep(for: self.leaseTimeout)
                return nil
            }
            defer { group.cancelAll() }
            while let next = try await group.next() {
                if let result = next { return result }
                if leased.value.load(ordering: .sequentiallyConsistent) { continue }
                throw StoreError.unavailable("timed out waiting for a PostgreSQL connection")
            }
            throw StoreError.unavailable("no connection")
        }
    }

    /// Set once: the pool has handed over a connection, or a batch has begun.
    private final class LeaseFlag: Sendable {
        let value = Atomic<Bool>(false)
    }

    struct Executor: SQLExecutor {
        let connection: PostgresConnection
        let logger: Logger
        let batch: CommitBatch?
        let statements: ConnectionStatements
        var dialect: Dialect { .postgres }

        func query(_ sql: SQL) async throws -> [SQLRow] {
            let (text, values) = sql.render(.postgres)
            guard sql.isPrepared else { return try await query(text, values) }
            return try await mapErrors { try Executor.rows(try await statements.prepared(text, values, on: connection)) }
        }

        /// Rows of a prepared statement. Their cells come in binary form, though PostgresNIO labels
        /// them with the text format its statement description had when prepared.
        static func rows(_ rows: [PostgresRow]) throws -> [SQLRow] {
            var columns: SQLColumns?
            return try rows.map { row in
                let names = columns ?? SQLColumns(row.map(\.columnName))
                columns = names
                return SQLRow(columns: names, values: try row.map(Executor.decodeBinary))
            }
        }

        static func decodeBinary(_ cell: PostgresCell) throws -> SQLValue {
            guard var buffer = cell.bytes else { return .null }
            switch cell.dataType {
            case .int8: if buffer.readableBytes == 8, let value = buffer.readInteger(as: Int64.self) { return .int(value) }
            case .int4: if buffer.readableBytes == 4, let value = buffer.readInteger(as: Int32.self) { return .int(Int64(value)) }
            case .int2: if buffer.readableBytes == 2, let value = buffer.readInteger(as: Int16.self) { return .int(Int64(value)) }
            case .bool: if buffer.readableBytes == 1, let value = buffer.readInteger(as: UInt8.self) { return .int(value == 0 ? 0 : 1) }
            case .bytea: return .blob(buffer.readBytes(length: buffer.readableBytes) ?? [])
            case .text, .varchar, .name: return .text(buffer.readString(length: buffer.readableBytes) ?? "")
            default: break
            }
            throw StoreError.decoding("column \(cell.columnName) of a prepared statement: \(cell.dataType) \(buffer.readableBytes) bytes")
        }

        func query(_ text: String, _ values: [SQLValue]) async throws -> [SQLRow] {
            var binds = PostgresBindings(capacity: values.count)
            for value in values {
                switch value {
                case .null: binds.appendNull()
                case .int(let int): binds.append(int)
                case .text(let string): binds.append(string)
                case .blob(let bytes): binds.append(ByteBuffer(bytes: bytes))
                case .textArray(let values): binds.append(ArrayBind(.text(values)))
                case .intArray(let values): binds.append(ArrayBind(.bigint(values)))
                }
            }
            let (connection, logger, query) = (connection, logger, PostgresQuery(unsafeSQL: text, binds: binds))
            return try await mapErrors {
                try await statements.answer(on: connection) {
                    let rows = try await connection.query(query, logger: logger)
                    var result: [SQLRow] = []
                    var columns: SQLColumns?
                    for try await row in rows {
                        let names = columns ?? SQLColumns(row.map(\.columnName))
                        columns = names
                        result.append(SQLRow(columns: names, values: try row.map(Executor.decode)))
                    }
                    return result
                }
            }
        }

        func execute(_ sql: SQL) async throws {
            _ = try await query(sql)
        }

        func run(_ text: String, rows: [[SQLValue]]) async throws -> [SQLRow] {
            var result: [SQLRow] = []
            for row in rows { result += try await query(text, row) }
            return result
        }

        static func decode(_ cell: PostgresCell) throws -> SQLValue {
            guard cell.bytes != nil else { return .null }
            switch cell.dataType {
            case .int8: return .int(try cell.decode(Int64.self))
            case .int4: return .int(Int64(try cell.decode(Int32.self)))
            case .int2: return .int(Int64(try cell.decode(Int16.self)))
            case .bool: return .int(try cell.decode(Bool.self) ? 1 : 0)
            case .bytea:
                var buffer = try cell.decode(ByteBuffer.self)
                return .blob(buffer.readBytes(length: buffer.readableBytes) ?? [])
            case .numeric:
                let text = try cell.decode(String.self)
                guard let int = Int64(text) else { throw StoreError.decoding("numeric \(text) is not an integer") }
                return .int(int)
            default: return .text(try cell.decode(String.self))
            }
        }
    }
}

/// What this process keeps per PostgreSQL connection.
///
/// Named prepared statements, by their text: parsed and planned once, where an unnamed statement is
/// parsed and planned on every run (a third of PostgreSQL's time on the decision path,
/// `pg_stat_statements`).
///
/// Statements awaiting their answer: PostgresNIO (1.33) can leave a statement unanswered forever
/// when its connection closes under it (the database shut down mid-load), and with it the request
/// and the transaction's other units. So every statement waits here for its answer or the
/// connection's close, whichever comes first, and a closed connection is forgotten.
final class ConnectionStatements: Sendable {
    private struct Connection {
        var prepared: [String: PreparedQuery] = [:]
        /// Fails a statement sent and not yet answered.
        var waiting: [Int: @Sendable () -> Void] = [:]
    }

    private struct State {
        var connections: [PostgresConnection.ID: Connection] = [:]
        var nextTicket = 0
    }

    private let state = Mutex(State())

    func prepared(_ text: String, _ values: [SQLValue], on connection: PostgresConnection) async throws -> [PostgresRow] {
        let binds = values.map(Self.data)
        if let known = state.withLock({ $0.connections[connection.id]?.prepared[text] }) {
            return try await answer(on: connection) { promise in known.execute(binds).cascade(to: promise) }
        }
        let prepared = try await answer(on: connection) { promise in connection.prepare(query: text).cascade(to: promise) }
        state.withLock { $0.connections[connection.id]?.prepared[text] = prepared }
        return try await answer(on: connection) { promise in prepared.execute(binds).cascade(to: promise) }
    }

    /// `body`'s answer, or `connectionLost` as soon as `connection` closes.
    func answer<T: Sendable>(on connection: PostgresConnection, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await answer(on: connection) { promise in promise.completeWithTask(body) }
    }

    private func answer<T: Sendable>(on connection: PostgresConnection, _ start: (EventLoopPromise<T>) -> Void) async throws -> T {
        let promise = connection.eventLoop.makePromise(of: T.self)
        let id = connection.id
        let (ticket, firstUse) = state.withLock { state -> (Int, Bool) in
            state.nextTicket += 1
            let firstUse = state.connections[id] == nil
            state.connections[id, default: Connection()].waiting[state.nextTicket] = {
                promise.fail(StoreError.connectionLost("connection closed"))
            }
            return (state.nextTicket, firstUse)
        }
        // Once per connection; fires at once if it is already closed.
        if firstUse { connection.closeFuture.whenComplete { _ in self.closed(id) } }
        defer { state.withLock { _ = $0.connections[id]?.waiting.removeValue(forKey: ticket) } }
        start(promise)
        return try await promise.futureResult.get()
    }

    private func closed(_ id: PostgresConnection.ID) {
        let waiting = state.withLock { $0.connections.removeValue(forKey: id)?.waiting.values } ?? [:].values
        for fail in waiting { fail() }
    }

    /// A value in PostgreSQL's binary form.
    static func data(_ value: SQLValue) -> PostgresData {
        var buffer = ByteBuffer()
        switch value {
        case .null: return PostgresData(type: .text, value: nil)
        case .int(let int):
            buffer.writeInteger(int)
            return PostgresData(type: .int8, value: buffer)
        case .text(let text):
            buffer.writeString(text)
            return PostgresData(type: .text, value: buffer)
        case .blob(let bytes):
            buffer.writeBytes(bytes)
            return PostgresData(type: .bytea, value: buffer)
        case .textArray(let values):
            let array = ArrayBind(.text(values))
            array.encode(into: &buffer, context: .default)
            return PostgresData(type: array.psqlType, value: buffer)
        case .intArray(let values):
            let array = ArrayBind(.bigint(values))
            array.encode(into: &buffer, context: .default)
            return PostgresData(type: array.psqlType, value: buffer)
        }
    }
}

/// A one-dimensional array that may hold NULLs, in PostgreSQL's binary array form: one bound
/// parameter for a column of many rows (PostgresNIO's own arrays take no NULLs).
struct ArrayBind: PostgresDynamicTypeEncodable {
    enum Elements {
        case text([String?])
        case bigint([Int64?])
    }

    let elements: Elements

    init(_ elements: Elements) { self.elements = elements }

    var psqlType: PostgresDataType {
        switch elements {
        case .text: .textArray
        case .bigint: .int8Array
        }
    }

    var psqlFormat: PostgresFormat { .binary }

    func encode<JSONEncoder: PostgresJSONEncoder>(into buffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
        let (count, hasNull, elementType): (Int, Bool, PostgresDataType) = switch elements {
        case .text(let values): (values.count, values.contains(nil), .text)
        case .bigint(let values): (values.count, values.contains(nil), .int8)
        }
        buffer.writeInteger(count == 0 ? 0 : 1, as: Int32.self)   // dimensions
        buffer.writeInteger(hasNull ? 1 : 0, as: Int32.self)
        buffer.writeInteger(elementType.rawValue)
        guard count > 0 else { return }
        buffer.writeInteger(Int32(count))
        buffer.writeInteger(1, as: Int32.self)   // lower bound
        switch elements {
        case .text(let values):
            for value in values {
                guard let value else { buffer.writeInteger(-1, as: Int32.self); continue }
                buffer.writeInteger(Int32(value.utf8.count))
                buffer.writeString(value)
            }
        case .bigint(let values):
            for value in values {
                guard let value else { buffer.writeInteger(-1, as: Int32.self); continue }
                buffer.writeInteger(8, as: Int32.self)
                buffer.writeInteger(value)
            }
        }
    }
}

/// Translates PostgresNIO's errors into `StoreError`; server text never reaches a client. Its
/// prepared-statement API reports in the older `PostgresError`, translated the same way.
private func mapErrors<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as PSQLError {
        if error.code == .server {
            throw serverError(state: error.serverInfo?[.sqlState] ?? "", constraint: error.serverInfo?[.constraintName],
                              message: error.serverInfo?[.message])
        }
        switch error.code {
        case .serverClosedConnection, .clientClosedConnection, .uncleanShutdown:
            throw StoreError.connectionLost("\(error.code)")
        case .connectionError, .poolClosed:
            throw StoreError.unavailable("\(error.code)")
        default:
            throw StoreError.other("\(error.code)")
        }
    } catch let error as PostgresError {
        switch error {
        case .server(let server):
            throw serverError(state: server.fields[.sqlState] ?? "", constraint: server.fields[.constraintName],
                              message: server.fields[.message])
        case .connectionClosed: throw StoreError.connectionLost("connection closed")
        case .protocol(let message): throw StoreError.other("protocol: \(message)")
        }
    } catch let error as PostgresTransactionError {
        throw StoreError.other("\(error)")
    }
}

private func serverError(state: String, constraint: String?, message: String?) -> StoreError {
    switch state {
    case "23505": .uniqueViolation(constraint ?? message ?? state)
    case "40001", "40P01", "55P03": .retryable(state)
    case "57P01", "57P02": .connectionLost(state)
    case "57P03", "53300": .unavailable(state)
    default: .other("\(state): \(message ?? "")")
    }
}
