import Synchronization

/// Set-based work: many requests' items run together in one transaction by one `run`, which reads
/// every row the items need in one statement per table, decides them in memory in arrival order,
/// and writes each table once. Authorization decisions are this kind of work.
public protocol BatchWork: Sendable {
    associatedtype Item: Sendable
    associatedtype Answer: Sendable
    /// Runs `items`, in their order, on `sql`, whose `batch` takes the events and audit records they
    /// queue; answers one outcome per item. In a transaction that `locksRows`, or, when the engine
    /// may and `mayRunWithoutTransaction`, in statements that each commit alone, the writes in one
    /// statement that checks it lost no race. Throwing fails the run, which runs again (in a
    /// transaction) when the failure was a lost race.
    func run(_ items: [Item], on sql: any SQLExecutor, locksRows: Bool) async throws -> [BatchOutcome<Answer>]

    /// Whether these items may be run with `locksRows` false.
    func mayRunWithoutTransaction(_ items: [Item]) -> Bool
}

/// What became of one item of set-based work.
public enum BatchOutcome<Answer: Sendable>: Sendable {
    case answer(Answer)
    /// The item's own failure (a missing card, a revoked key): answered, the others go on.
    case failure(any Error)
    /// Not run now (a row it needs was locked by another transaction): queued for the next one.
    case later
}

/// Group commit: work that arrives while a transaction runs is run together in the next one and
/// committed with one `COMMIT`. Both engines write this way: SQLite one transaction at a time (its
/// one writer), PostgreSQL a few at once (`lanes`). Two kinds of work share the queue, never a
/// transaction: units of work, each in a savepoint of its own, and items of set-based work
/// (`BatchWork`), all of one kind handed to its `run` together.
///
/// A unit stays atomic: a unit that fails is rolled back to its savepoint and answered with its
/// error, and the others go on. Nothing is acknowledged before it is durable: results are handed
/// back only after the `COMMIT` that contains them returned. What is saved is per commit, not per
/// statement: the fsync, and above all the WAL pages, since every page a commit touched is written
/// to the log again. The tenant head row is taken once, at the end (`CommitBatch`).
final class GroupCommit: Sendable {
    /// Work waiting for a transaction, and the caller to answer.
    final class Job: Sendable {
        enum Work: Sendable {
            case unit(@Sendable (any SQLExecutor) async throws -> any Sendable)
            case item(any Sendable, Runner)
        }

        let work: Work
        let continuation: CheckedContinuation<any Sendable, any Error>

        init(_ work: Work, continuation: CheckedContinuation<any Sendable, any Error>) {
            self.work = work
            self.continuation = continuation
        }

        /// The kind of set-based work this job is an item of; nil for a unit.
        var kind: ObjectIdentifier? {
            if case .item(_, let runner) = work { return runner.kind }
            return nil
        }
    }

    /// Runs the items of one kind of set-based work, type-erased.
    struct Runner: Sendable {
        let kind: ObjectIdentifier
        let run: @Sendable ([any Sendable], any SQLExecutor, Bool) async throws -> [BatchOutcome<any Sendable>]
        let mayRunWithoutTransaction: @Sendable ([any Sendable]) -> Bool

        init<W: BatchWork>(_ work: W) {
            kind = ObjectIdentifier(W.self)
            mayRunWithoutTransaction = { items in work.mayRunWithoutTransaction(items.map { $0 as! W.Item }) }
            run = { items, sql, locksRows in
                let typed = items.map { $0 as! W.Item }
                return try await work.run(typed, on: sql, locksRows: locksRows).map { outcome in
                    switch outcome {
                    case .answer(let answer): .answer(answer)
                    case .failure(let error): .failure(error)
                    case .later: .later
                    }
                }
            }
        }
    }

    private struct State {
        var queue: [Job] = []
        var draining = 0
        /// Transactions of set-based work running now.
        var itemTransactions = 0
    }

    private let state = Mutex(State())
    /// Most units or items in one transaction: bounds how long the first of them waits for its answer.
    let batch_max: Int
    /// Transactions run at once (SQLite has one writer; PostgreSQL may run several).
    let lanes: Int
    /// Transactions of set-based work run at once: one, so that its items gather into one batch
    /// rather than spread over several small ones. Decisions on PostgreSQL then all meet the
    /// tenant's head row in one transaction at a time instead of queueing on it (measured: batches
    /// of 6 queued 2.4 ms each on the head row with four at once).
    let itemLanes = 1
    /// How often a transaction of set-based work that lost a race runs again before its items fail.
    static let batchRetries_max = 5

    /// Where the transactions run; nil: Swift's shared pool.
    let executor: (any TaskExecutor)?

    init(batch_max: Int = 256, lanes: Int = 1, executor: (any TaskExecutor)? = nil) {
        self.batch_max = batch_max
        self.lanes = lanes
        self.executor = executor
    }

    /// - Parameter transaction: runs jobs of one kind in one transaction, answers every one of them
    ///   but those it hands back to run in a later transaction.
    func submit<T: Sendable>(_ work: Job.Work, transaction: @escaping @Sendable ([Job]) async -> [Job]) async throws -> T {
        let result = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<any Sendable, any Error>) in
            let job = Job(work, continuation: continuation)
            let startDrain = state.withLock { state -> Bool in
                state.queue.append(job)
                guard state.draining < lanes else { return false }
                state.draining += 1
                return true
            }
            // The drain runs in a task of its own: a caller that goes away (a client hang-up) can
            // never leave the writer inside a transaction.
            if startDrain { Task(executorPreference: executor) { await self.drain(transaction) } }
        }
        guard let typed = result as? T else { throw StoreError.other("group commit answered a unit with the wrong type") }
        return typed
    }

    private func drain(_ transaction: @Sendable ([Job]) async -> [Job]) async {
        while true {
            let batch = state.withLock { state -> [Job] in
                // The first kind in arrival order that may run now; the others wait their turn.
                let runnable = state.queue.first { $0.kind == nil || state.itemTransactions < itemLanes }
                guard let kind = runnable.map(\.kind) else {
                    state.draining -= 1
                    return []
                }
                var batch: [Job] = []
                var rest: [Job] = []
                for job in state.queue {
                    if batch.count < batch_max && job.kind == kind { batch.append(job) } else { rest.append(job) }
                }
                state.queue = rest
                if kind != nil { state.itemTransactions += 1 }
                return batch
            }
            guard !batch.isEmpty else { return }
            let deferred = await transaction(batch)
            if batch[0].kind != nil { state.withLock { $0.itemTransactions -= 1 } }
            guard !deferred.isEmpty else { continue }
            state.withLock { $0.queue.insert(contentsOf: deferred, at: 0) }
            // Nothing of the batch could run: what it waits for is held elsewhere; give it a moment.
            if deferred.count == batch.count { try? await Task.sleep(for: .milliseconds(1)) }
        }
    }

    /// Hands a committed transaction's answers on once its commit is durable.
    typealias Acknowledge = @Sendable (_ answers: @escaping @Sendable () -> Void) -> Void
    /// Ends a transaction: runs `COMMIT`, and answers how its answers wait for durability.
    typealias Commit = @Sendable (any SQLExecutor) async throws -> Acknowledge
    /// Where `COMMIT` returns only once the commit is durable (PostgreSQL; SQLite syncing at each
    /// commit), answers go at once. SQLite syncing beside the writer has its own (`WALSync`).
    static let commit: Commit = { sql in
        try await sql.execute("COMMIT")
        return { answers in answers() }
    }

    /// Runs `jobs`, all of one kind, in one transaction on `sql`, whose `batch` collects what they
    /// queue for its end, and answers each of them; hands back the items to run later. With
    /// `withoutTransaction`, set-based work that may is run first without one (`BatchWork`): two
    /// round trips (its read, its write and commit) where a transaction takes four.
    static func run(_ jobs: [Job], on sql: any SQLExecutor, batch: CommitBatch, begin: SQL, commit: Commit = commit,
                    withoutTransaction: Bool = false) async -> [Job] {
        guard case .item(_, let runner) = jobs[0].work else {
            await runUnits(jobs, on: sql, batch: batch, begin: begin, commit: commit)
            return []
        }
        let items = jobs.map { job -> any Sendable in
            guard case .item(let item, _) = job.work else { preconditionFailure("a batch mixes units and items") }
            return item
        }
        var attempt = 1
        var locksRows = !(withoutTransaction && runner.mayRunWithoutTransaction(items))
        while true {
            do {
                if locksRows { try await sql.execute(begin) }
                let outcomes = try await runner.run(items, sql, locksRows)
                guard outcomes.count == jobs.count else { throw StoreError.other("set-based work answered \(outcomes.count) of \(jobs.count) items") }
                let acknowledge: Acknowledge
                if locksRows {
                    try await batch.write(sql)
                    acknowledge = try await commit(sql)
                } else {
                    // Its one write committed alone: nothing may be left for a transaction's end.
                    guard batch.mark == 0 else { throw StoreError.other("set-based work without a transaction queued events") }
                    acknowledge = { answers in answers() }
                }
                var deferred: [Job] = []
                var answered: [(Job, BatchOutcome<any Sendable>)] = []
                for (job, outcome) in zip(jobs, outcomes) {
                    if case .later = outcome { deferred.append(job) } else { answered.append((job, outcome)) }
                }
                acknowledge { [answered] in
                    for (job, outcome) in answered {
                        switch outcome {
                        case .answer(let answer): job.continuation.resume(returning: answer)
                        case .failure(let error): job.continuation.resume(throwing: error)
                        case .later: break
                        }
                    }
                }
                return deferred
            } catch {
                if locksRows { await abandon(sql, after: error) }
                batch.truncate(to: 0)
                if case StoreError.retryable = error, attempt < batchRetries_max {
                    attempt += 1
                    locksRows = true
                    continue
                }
                for job in jobs { job.continuation.resume(throwing: error) }
                return []
            }
        }
    }

    /// Units of work in one transaction, a savepoint each: a failed unit is answered with its error
    /// and leaves nothing; the others are answered once `COMMIT` returned.
    private static func runUnits(_ jobs: [Job], on sql: any SQLExecutor, batch: CommitBatch, begin: SQL, commit: Commit) async {
        do {
            try await sql.execute(begin)
        } catch {
            for job in jobs { job.continuation.resume(throwing: error) }
            return
        }
        var committed: [(Job, any Sendable)] = []
        for (index, job) in jobs.enumerated() {
            guard case .unit(let body) = job.work else { continue }
            let mark = batch.mark
            do {
                try await sql.execute("SAVEPOINT unit")
                let result = try await body(sql)
                try await sql.execute("RELEASE unit")
                committed.append((job, result))
            } catch {
                // This unit wrote nothing that stays; the others are unaffected.
                batch.truncate(to: mark)
                do {
                    if Self.connectionLost(error) { throw error }
                    try await sql.execute("ROLLBACK TO unit")
                    try await sql.execute("RELEASE unit")
                    job.continuation.resume(throwing: error)
                } catch let transactionError {
                    // The transaction is lost: every unit in it, run or not, is answered with why.
                    await abandon(sql, after: transactionError)
                    job.continuation.resume(throwing: error)
                    for (other, _) in committed { other.continuation.resume(throwing: transactionError) }
                    for other in jobs[(index + 1)...] { other.continuation.resume(throwing: transactionError) }
                    return
                }
            }
        }
        let acknowledge: Acknowledge
        do {
            try await batch.write(sql)
            acknowledge = try await commit(sql)
        } catch {
            await abandon(sql, after: error)
            for (job, _) in committed { job.continuation.resume(throwing: error) }
            return
        }
        acknowledge { [committed] in
            for (job, result) in committed { job.continuation.resume(returning: result) }
        }
    }

    /// Whether `error` means the connection is gone: the server already ended the transaction, and a
    /// statement sent after it may never be answered (PostgresNIO after a FATAL `57P01`), so none is.
    static func connectionLost(_ error: any Error) -> Bool {
        if case StoreError.connectionLost = error { return true }
        return false
    }

    /// Ends a failed transaction; the server does it itself when the connection is gone.
    private static func abandon(_ sql: any SQLExecutor, after error: any Error) async {
        guard !connectionLost(error) else { return }
        try? await sql.execute("ROLLBACK")
    }
}
