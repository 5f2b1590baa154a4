import Synchronization

/// Group commit: units of work that arrive while a transaction runs are run together in the next
/// one, each inside its own savepoint, and committed with one `COMMIT`. Both engines write this
/// way: SQLite one transaction at a time (its one writer), PostgreSQL a few at once (`lanes`).
///
/// Each unit stays atomic: a unit that fails is rolled back to its savepoint and answered with its
/// error, and the others go on. Nothing is acknowledged before it is durable: results are handed
/// back only after the `COMMIT` that contains them returned. What is saved is per commit, not per
/// statement: the fsync, and above all the WAL pages, since every page a commit touched is written
/// to the log again (an authorization touches about twenty: its rows and their index pages). The
/// tenant head row is taken once, at the end (`CommitBatch`).
final class GroupCommit: Sendable {
    /// A unit waiting for a transaction: its body and the caller to answer.
    final class Job: Sendable {
        let body: @Sendable (any SQLExecutor) async throws -> any Sendable
        let continuation: CheckedContinuation<any Sendable, any Error>

        init(body: @escaping @Sendable (any SQLExecutor) async throws -> any Sendable,
             continuation: CheckedContinuation<any Sendable, any Error>) {
            self.body = body
            self.continuation = continuation
        }
    }

    private struct State {
        var queue: [Job] = []
        var draining = 0
    }

    private let state = Mutex(State())
    /// Most units in one transaction: bounds how long the first of them waits for its answer.
    let batch_max: Int
    /// Transactions run at once (SQLite has one writer; PostgreSQL may run several).
    let lanes: Int

    /// Where the transactions run; nil: Swift's shared pool.
    let executor: (any TaskExecutor)?

    init(batch_max: Int = 256, lanes: Int = 1, executor: (any TaskExecutor)? = nil) {
        self.batch_max = batch_max
        self.lanes = lanes
        self.executor = executor
    }

    /// - Parameter transaction: runs jobs in one transaction and answers every one of them.
    func submit<T: Sendable>(
        _ body: @escaping @Sendable (any SQLExecutor) async throws -> T, transaction: @escaping @Sendable ([Job]) async -> Void
    ) async throws -> T {
        let result = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<any Sendable, any Error>) in
            let job = Job(body: { executor in try await body(executor) }, continuation: continuation)
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

    private func drain(_ transaction: @Sendable ([Job]) async -> Void) async {
        while true {
            let batch = state.withLock { state -> [Job] in
                let batch = Array(state.queue.prefix(batch_max))
                state.queue.removeFirst(batch.count)
                if batch.isEmpty { state.draining -= 1 }
                return batch
            }
            guard !batch.isEmpty else { return }
            await transaction(batch)
        }
    }

    /// Runs `jobs` in one transaction on `sql`, whose `batch` collects what they queue for its end,
    /// and answers each of them: a failed unit with its error, the others once `COMMIT` returned.
    static func run(_ jobs: [Job], on sql: any SQLExecutor, batch: CommitBatch, begin: SQL) async {
        do {
            try await sql.execute(begin)
        } catch {
            for job in jobs { job.continuation.resume(throwing: error) }
            return
        }
        var committed: [(Job, any Sendable)] = []
        for job in jobs {
            let mark = batch.mark
            do {
                try await sql.execute("SAVEPOINT unit")
                let result = try await job.body(sql)
                try await sql.execute("RELEASE unit")
                committed.append((job, result))
            } catch {
                // This unit wrote nothing that stays; the others are unaffected.
                batch.truncate(to: mark)
                do {
                    try await sql.execute("ROLLBACK TO unit")
                    try await sql.execute("RELEASE unit")
                    job.continuation.resume(throwing: error)
                } catch let rollbackError {
                    try? await sql.execute("ROLLBACK")
                    job.continuation.resume(throwing: error)
                    for (other, _) in committed { other.continuation.resume(throwing: rollbackError) }
                    return
                }
            }
        }
        do {
            try await batch.write(sql)
            try await sql.execute("COMMIT")
        } catch {
            try? await sql.execute("ROLLBACK")
            for (job, _) in committed { job.continuation.resume(throwing: error) }
            return
        }
        for (job, result) in committed { job.continuation.resume(returning: result) }
    }
}
