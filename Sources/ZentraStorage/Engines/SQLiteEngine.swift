import Foundation
import GRDB
import GRDBSQLite
import ServiceLifecycle
import Synchronization

/// Embedded SQLite through GRDB's `DatabasePool`: WAL, readers in parallel, one writer. An
/// acknowledged commit survives power loss: its WAL frames are synced before it is answered, beside
/// the writer (`WALSync`), or by the writer at each commit where the WAL cannot be opened for that.
///
/// GRDB's write closures are synchronous while a Zentra unit of work is async (PostgreSQL needs it),
/// so a write transaction is opened with `BEGIN IMMEDIATE` and its statements run one by one on the
/// writer connection. `writeLock` keeps every other writer of this process out until `COMMIT`, which
/// is why GRDB's `allowsUnsafeTransactions` is on; other processes wait on SQLite's own lock.
/// Units of work that arrive together share one transaction and one commit (`GroupCommit`).
public final class SQLiteEngine: DatabaseEngine {
    public let dialect = Dialect.sqlite
    private let pool: DatabasePool
    private let writeLock = AsyncLock()
    private let writerThread = WriterThread(name: "zentra-sqlite-writer")
    private let groupCommit: GroupCommit
    private let walSync: WALSync?
    private let inUse = Atomic<Int>(0)
    private let maximumReaders: Int

    public init(path: String, maximumReaders: Int = 4) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.allowsUnsafeTransactions = true
        configuration.maximumReaderCount = maximumReaders
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // Pages are read through a memory map and a 32 MiB cache rather than a read() call per
            // page miss: the authorization path touches a dozen index pages per decision.
            try db.execute(sql: "PRAGMA mmap_size = 1073741824")
            try db.execute(sql: "PRAGMA cache_size = -32768")
            // The checkpoint task copies the WAL back beside the writer, but only a checkpoint with no
            // commit in between lets the WAL start over: the writer's own, after the commit that
            // crosses this size. Kept small (8 MiB), each of those copies and syncs little: at
            // 20,000 pages the WAL reached 80 MB, the writer's checkpoint synced the database for
            // 40-60 ms every second or so, and open-loop p99 at half of peak was 54-63 ms (18 ms
            // at 2,000, runs alternating). Without it the WAL grew past 1.9 GB in a minute.
            try db.execute(sql: "PRAGMA wal_autocheckpoint = \(SQLiteEngine.walAutocheckpointPages)")
            try db.execute(sql: "PRAGMA foreign_keys = ON")
            // Savepoints (one per unit of a group commit, one per record of a clearing file) keep
            // each page's first content in a sub-journal; in memory, not a temporary file written
            // with a system call per page (perf: a quarter of a clearing file's time).
            try db.execute(sql: "PRAGMA temp_store = MEMORY")
        }
        self.maximumReaders = maximumReaders
        groupCommit = GroupCommit(executor: writerThread)
        do {
            // The database (and so its WAL and shared-memory files) is private to its owner.
            try PrivateFile.createIfMissing(path)
            pool = try DatabasePool(path: path, configuration: configuration)
            // GRDB turns its writer to `synchronous = NORMAL` after `prepareDatabase`: a commit then
            // reaches the disk only at the next checkpoint. Answers wait for `WALSync` to sync the
            // WAL instead; without it the writer syncs at every commit again (`FULL`).
            walSync = WALSync.forWAL(ofDatabaseAt: path)
            let synchronous = walSync == nil ? "FULL" : "NORMAL"
            try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = \(synchronous)") }
            // Copies the WAL back into the database file every 5 ms on a connection of its own
            // (`PASSIVE`: it never waits for or blocks the writer), and syncs that file when it
            // copied anything (`syncDatabaseFile`). Checkpointing in the writer's commit put a page
            // copy and an fsync on the path of every decision; here pages written many times between
            // two checkpoints (index and ledger pages) are copied once, and the writer's own
            // checkpoint finds little left to copy and sync ("Where the SQLite p99 comes from" in
            // PERFORMANCE.md).
            //
            // On a volume with less room than the WAL grows to between two of the writer's own
            // checkpoints, the WAL would fill it and then never start over (the commit that would
            // restart it fails for want of space), so a full disk would stay full after space was
            // freed. There the task truncates the WAL instead (`TRUNCATE` waits up to its busy
            // timeout for the transaction in progress), handing its space back at once.
            var checkpointing = Configuration()
            checkpointing.busyMode = .timeout(0.5)
            let connection = try DatabaseQueue(path: path, configuration: checkpointing)
            let directory = (path as NSString).deletingLastPathComponent
            // The WAL's frames and those copied back after the last pass: unchanged, nothing to sync.
            let lastPass = Mutex<[Int64]>([])
            // Every 50 ms while the WAL does not change (an idle server is not woken 200 times a second).
            checkpointer = PeriodicTask("checkpoint", every: .milliseconds(5), whenIdle: .milliseconds(50), logger: nil) {
                let cramped = (FreeSpace.bytes(in: directory) ?? .max) < SQLiteEngine.walGrowthBytes
                return try await connection.writeWithoutTransaction { db in
                    let row = try Row.fetchOne(db, sql: cramped ? "PRAGMA wal_checkpoint(TRUNCATE)" : "PRAGMA wal_checkpoint(PASSIVE)")
                    let pass: [Int64] = [row?[1] ?? 0, row?[2] ?? 0]
                    guard lastPass.withLock({ last in defer { last = pass }; return last != pass }) else { return false }
                    if pass[1] > 0 { try SQLiteEngine.syncDatabaseFile(db) }
                    return true
                }
            }
        } catch {
            writerThread.stop()
            throw StoreError.unavailable("cannot open SQLite database at \(path): \(error)")
        }
    }

    /// Syncs the database file the checkpoint task copied pages into. SQLite syncs it only in a
    /// checkpoint that reaches the WAL's end, which under steady commits is the writer's own: that
    /// sync then wrote back every page the task had copied since, on the path of a commit (p50
    /// 4.8 ms, p90 11 ms under half of peak). Synced here, the writer's leaves little to write.
    /// The sync goes through SQLite's own file handle: closing another descriptor of the file
    /// would drop the process's locks on it.
    static func syncDatabaseFile(_ db: Database) throws {
        var file: UnsafeMutablePointer<sqlite3_file>?
        guard sqlite3_file_control(db.sqliteConnection, "main", SQLITE_FCNTL_FILE_POINTER, &file) == SQLITE_OK,
              let file, let sync = file.pointee.pMethods?.pointee.xSync
        else { return }
        let code = sync(file, SQLITE_SYNC_NORMAL | SQLITE_SYNC_DATAONLY)
        guard code == SQLITE_OK else { throw DatabaseError(resultCode: ResultCode(rawValue: code), message: "syncing the database file") }
    }

    /// The writer checkpoints (and so restarts the WAL) after the commit that crosses this many pages.
    static let walAutocheckpointPages = 2000
    /// How far the WAL may grow before it starts over: its autocheckpoint and a margin for the
    /// group commit that crosses it (pages of 4 KiB, SQLite's default).
    static let walGrowthBytes: UInt64 = UInt64(walAutocheckpointPages) * 4096 * 2

    /// Whether commits are synced beside the writer (`WALSync`) rather than by it.
    var syncsBesideTheWriter: Bool { walSync != nil }

    public var service: (any Service)? { checkpointer }
    private let checkpointer: PeriodicTask

    public var poolUsage: PoolUsage { PoolUsage(inUse: inUse.load(ordering: .relaxed), size: maximumReaders + 1) }

    public func withReader<T: Sendable>(_ body: @escaping @Sendable (any SQLExecutor) async throws -> T) async throws -> T {
        inUse.add(1, ordering: .relaxed)
        defer { inUse.subtract(1, ordering: .relaxed) }
        do {
            let result = try await body(Reader(pool: pool))
            await walSync?.barrier()
            return result
        } catch {
            await walSync?.barrier()   // an error can tell what the read saw, too
            throw error
        }
    }

    public func withTransaction<T: Sendable>(_ body: @escaping @Sendable (any SQLExecutor) async throws -> T) async throws -> T {
        try await groupCommit.submit(.unit(body)) { jobs in await self.transaction(jobs) }
    }

    public func withItem<W: BatchWork>(_ item: W.Item, of work: W) async throws -> W.Answer {
        try await groupCommit.submit(.item(item, GroupCommit.Runner(work))) { jobs in await self.transaction(jobs) }
    }

    /// One transaction for a batch of units or of items (see `GroupCommit`).
    private func transaction(_ jobs: [GroupCommit.Job]) async -> [GroupCommit.Job] {
        (try? await writeLock.withLock {
            self.inUse.add(1, ordering: .relaxed)
            defer { self.inUse.subtract(1, ordering: .relaxed) }
            let batch = CommitBatch()
            return await GroupCommit.run(jobs, on: Writer(pool: self.pool, batch: batch), batch: batch, begin: "BEGIN IMMEDIATE",
                                         commit: self.walSync.map { $0.commit } ?? GroupCommit.commit)
        }) ?? []
    }

    public func ping() async throws {
        _ = try await Reader(pool: pool).query("SELECT 1 AS one")
    }

    public func close() async throws {
        writerThread.stop()
        walSync?.stop()
        try pool.close()
    }

    struct Reader: SQLExecutor {
        let pool: DatabasePool
        var dialect: Dialect { .sqlite }

        /// Synchronous for the same reason as the writer's statements: a read takes microseconds, less
        /// than suspending the task and hopping to a reader's queue and back. Each read is one
        /// statement, which SQLite runs in a read transaction of its own, so GRDB's explicit one
        /// (`BEGIN`, a savepoint, `COMMIT` around it: `pool.read`) added cost and no isolation.
        func query(_ sql: SQL) async throws -> [SQLRow] {
            let (text, binds) = sql.render(.sqlite)
            return try mapErrors {
                try pool.unsafeRead { db in try SQLiteEngine.run(db, text, binds) }
            }
        }

        func execute(_ sql: SQL) async throws {
            throw StoreError.other("write statement outside a transaction")
        }

        func run(_ text: String, rows: [[SQLValue]]) async throws -> [SQLRow] {
            try mapErrors { try pool.unsafeRead { db in try rows.flatMap { try SQLiteEngine.run(db, text, $0) } } }
        }
    }

    /// The writer runs each statement synchronously on GRDB's writer connection. The transaction
    /// holds `writeLock`, so the call never waits for another writer of this process, and a statement
    /// takes microseconds: cheaper than suspending the task and hopping to the writer's queue and back,
    /// which (perf) was most of the wall time of a short transaction, spent with the write lock held.
    struct Writer: SQLExecutor {
        let pool: DatabasePool
        let batch: CommitBatch?
        var dialect: Dialect { .sqlite }

        func query(_ sql: SQL) async throws -> [SQLRow] {
            let (text, binds) = sql.render(.sqlite)
            return try mapErrors {
                try pool.writeWithoutTransaction { db in try SQLiteEngine.run(db, text, binds) }
            }
        }

        func execute(_ sql: SQL) async throws {
            let (text, binds) = sql.render(.sqlite)
            try mapErrors {
                try pool.writeWithoutTransaction { db in
                    if binds.isEmpty {
                        try db.cachedStatement(sql: text).execute()
                    } else {
                        _ = try SQLiteEngine.run(db, text, binds)
                    }
                }
            }
        }

        func run(_ text: String, rows: [[SQLValue]]) async throws -> [SQLRow] {
            try mapErrors { try pool.writeWithoutTransaction { db in try rows.flatMap { try SQLiteEngine.run(db, text, $0) } } }
        }
    }

    /// Statements are prepared once per connection and reused: the same few dozen statements run
    /// on every unit of work, and compiling them each time cost about a tenth of a deposit. A
    /// statement with many parameters is a multi-row insert or a long `IN` list whose text changes
    /// with its row count (a clearing file's window writes hundreds of events at once): kept, every
    /// count would stay prepared for the connection's life, so those are prepared each time.
    static func statement(_ db: Database, _ text: String, _ binds: [SQLValue]) throws -> Statement {
        binds.count <= cachedParameters_max ? try db.cachedStatement(sql: text) : try db.makeStatement(sql: text)
    }

    static let cachedParameters_max = 64

    /// Runs a statement on SQLite's C API: binds its values, steps it and reads its rows. GRDB's
    /// own path checked and converted every value through its protocols and built a `Row` per row
    /// (with the copy into `SQLRow`, a fifth of a decision's time). Statements without values
    /// (transaction control, schema changes) go through GRDB, which tracks the transaction state
    /// and the schema.
    static func run(_ db: Database, _ text: String, _ binds: [SQLValue]) throws -> [SQLRow] {
        let statement = try statement(db, text, binds)
        let handle = statement.sqliteStatement
        defer {
            sqlite3_reset(handle)
            sqlite3_clear_bindings(handle)
        }
        for (index, value) in binds.enumerated() {
            let position = CInt(index + 1)
            let code: CInt
            switch value {
            case .null: code = sqlite3_bind_null(handle, position)
            case .int(let int): code = sqlite3_bind_int64(handle, position, int)
            case .text(var string):
                code = string.withUTF8 { utf8 in
                    guard !utf8.isEmpty else { return sqlite3_bind_text(handle, position, "", 0, sqliteTransient) }
                    return utf8.withMemoryRebound(to: CChar.self) { text in
                        sqlite3_bind_text(handle, position, text.baseAddress, CInt(text.count), sqliteTransient)
                    }
                }
            case .blob(let bytes):
                code = bytes.isEmpty ? sqlite3_bind_zeroblob(handle, position, 0) : bytes.withUnsafeBytes { raw in
                    sqlite3_bind_blob(handle, position, raw.baseAddress, CInt(raw.count), sqliteTransient)
                }
            case .textArray, .intArray:
                throw StoreError.other("an array bound to a SQLite statement: SQLite writes many rows one statement each")
            }
            guard code == SQLITE_OK else { throw failure(db, code, text) }
        }
        var rows: [SQLRow] = []
        var columns: SQLColumns?
        while true {
            let code = sqlite3_step(handle)
            if code == SQLITE_DONE { return rows }
            guard code == SQLITE_ROW else { throw failure(db, code, text) }
            let names = columns ?? Self.columns(handle, text: text, cache: binds.count <= cachedParameters_max)
            columns = names
            var values: [SQLValue] = []
            values.reserveCapacity(names.count)
            for position in 0..<CInt(names.count) {
                switch sqlite3_column_type(handle, position) {
                case SQLITE_NULL: values.append(.null)
                case SQLITE_INTEGER: values.append(.int(sqlite3_column_int64(handle, position)))
                case SQLITE_TEXT:
                    let start = sqlite3_column_text(handle, position)
                    let count = Int(sqlite3_column_bytes(handle, position))
                    values.append(.text(String(decoding: UnsafeBufferPointer(start: start, count: count), as: UTF8.self)))
                case SQLITE_BLOB:
                    let start = sqlite3_column_blob(handle, position)
                    let count = Int(sqlite3_column_bytes(handle, position))
                    values.append(.blob(count == 0 ? [] : Array(UnsafeRawBufferPointer(start: start, count: count))))
                default:
                    // Zentra stores no floating-point values; one here is foreign data, not money.
                    throw StoreError.decoding("unexpected REAL value in column \(String(cString: sqlite3_column_name(handle, position)))")
                }
            }
            rows.append(SQLRow(columns: names, values: values))
        }
    }

    /// `SQLITE_TRANSIENT`: SQLite copies the bound text or blob before the call returns.
    private static let sqliteTransient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)

    private static func failure(_ db: Database, _ code: CInt, _ text: String) -> DatabaseError {
        DatabaseError(resultCode: ResultCode(rawValue: code), message: db.sqliteConnection.map { String(cString: sqlite3_errmsg($0)) }, sql: text)
    }

    /// Column names by statement text, so that the rows of a statement that runs on every decision
    /// share one name index. Each use compares the names with the statement's own (a schema change
    /// prepares a statement again, and `SELECT *` may then have other columns).
    private static let columnCache = Mutex<[String: SQLColumns]>([:])

    private static func columns(_ handle: OpaquePointer, text: String, cache: Bool) -> SQLColumns {
        let count = Int(sqlite3_column_count(handle))
        if cache, let hit = columnCache.withLock({ $0[text] }), hit.names.count == count,
           hit.names.indices.allSatisfy({ position in
               hit.names[position].withCString { strcmp($0, sqlite3_column_name(handle, CInt(position))) == 0 }
           }) {
            return hit
        }
        let fresh = SQLColumns((0..<count).map { String(cString: sqlite3_column_name(handle, CInt($0))) })
        if cache { columnCache.withLock { $0[text] = fresh } }
        return fresh
    }
}

/// Translates GRDB's errors into `StoreError` so nothing above the engine sees SQLite codes.
private func mapErrors<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as DatabaseError {
        throw storeError(error)
    }
}

private func storeError(_ error: DatabaseError) -> StoreError {
    switch error.extendedResultCode {
    case .SQLITE_CONSTRAINT_UNIQUE, .SQLITE_CONSTRAINT_PRIMARYKEY:
        return StoreError.uniqueViolation(error.message ?? "unique constraint")
    default:
        switch error.resultCode {
        case .SQLITE_BUSY, .SQLITE_LOCKED: return StoreError.retryable(error.message ?? "database is busy")
        case .SQLITE_CANTOPEN, .SQLITE_IOERR, .SQLITE_FULL, .SQLITE_READONLY:
            return StoreError.unavailable(error.message ?? "\(error.resultCode)")
        default: return StoreError.other(error.description)
        }
    }
}

/// A FIFO lock for async code: the one writer of this process holds it for a whole transaction.
actor AsyncLock {
    private var locked = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func withLock<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        await lock()
        do {
            let result = try await body()
            unlock()
            return result
        } catch {
            unlock()
            throw error
        }
    }

    private func lock() async {
        guard locked else {
            locked = true
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    private func unlock() {
        if waiters.isEmpty {
            locked = false
        } else {
            waiters.removeFirst().resume()
        }
    }
}

