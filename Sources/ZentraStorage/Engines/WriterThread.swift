import Foundation

/// A thread of its own for SQLite's one writer: the task that runs group commits prefers this
/// executor, so the transaction's statements, which run synchronously (see `SQLiteEngine.Writer`),
/// and its commit's sync occupy this thread and not one of the few threads of Swift's shared pool
/// that every request's handling runs on.
final class WriterThread: TaskExecutor, @unchecked Sendable {
    /// Guards `jobs` and `stopped`.
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var stopped = false

    init(name: String) {
        let thread = Thread { [self] in loop() }
        thread.name = name
        thread.start()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        let accepted = !stopped
        if accepted {
            jobs.append(job)
            condition.signal()
        }
        condition.unlock()
        // After `stop` the work still runs, on the shared pool: a job must never be dropped.
        if !accepted { globalConcurrentExecutor.enqueue(ExecutorJob(job)) }
    }

    /// Ends the thread once the jobs already queued have run; later jobs go to the shared pool.
    func stop() {
        condition.lock()
        stopped = true
        condition.signal()
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            while jobs.isEmpty && !stopped { condition.wait() }
            let ready = jobs
            jobs.removeAll(keepingCapacity: true)
            let done = stopped && ready.isEmpty
            condition.unlock()
            if done { return }
            for job in ready { job.runSynchronously(on: asUnownedTaskExecutor()) }
        }
    }
}
