import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Makes SQLite's commits durable on a thread of their own, so that the writer goes on with the next
/// transaction while the last one's WAL frames reach the disk.
///
/// With `synchronous = FULL` the writer itself waited in `fdatasync` at every commit: a quarter of
/// its time at half of peak, and with it every decision queued behind. Here the writer commits with
/// `synchronous = NORMAL` (SQLite still syncs the WAL before each checkpoint and its header when it
/// starts over) and hands the transaction's answers to this thread, which syncs the WAL once for all
/// the commits made since its last sync and only then answers them. Nothing is acknowledged before
/// it is durable, as before, and nothing is shown before either: a read waits, after it ran, for
/// every `COMMIT` begun by then to be synced (`barrier`), so no reader (an API call, a webhook) can
/// see a commit that power loss would take back. Commits are counted from their `COMMIT`, not
/// their `BEGIN`: a read made inside a transaction does not wait for that transaction.
final class WALSync: @unchecked Sendable {
    /// `COMMIT`s begun (numbered from 1), and the highest one synced.
    private let begun = Atomic<UInt64>(0)
    private let synced = Atomic<UInt64>(0)
    /// Guards what follows.
    private let condition = NSCondition()
    /// The highest `COMMIT` finished (whether it committed or failed).
    private var finished: UInt64 = 0
    /// Answers of commits, and reads, waiting for a sync that covers them.
    private var waiting: [(commit: UInt64, release: @Sendable () -> Void)] = []
    private var stopped = false
    private let sync: @Sendable () -> Void
    private let closing: @Sendable () -> Void

    /// - Parameters:
    ///   - sync: writes the WAL's frames to the disk, whatever file descriptor it goes through (a
    ///     sync covers every write made to the file before it began).
    ///   - closing: lets go of what `sync` uses, once nothing can call it any more.
    init(name: String, sync: @escaping @Sendable () -> Void, closing: @escaping @Sendable () -> Void = {}) {
        self.sync = sync
        self.closing = closing
        let thread = Thread { [self] in loop() }
        thread.name = name
        thread.start()
    }

    deinit {
        closing()
    }

    /// The WAL of the database at `path`, opened for syncing (the file exists while the database is
    /// open); nil when it cannot be opened: the writer then syncs at each commit itself.
    static func forWAL(ofDatabaseAt path: String) -> WALSync? {
        let descriptor = open(path + "-wal", O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        // SQLite holds no lock on the WAL file itself (its locks are on the database and `-shm`
        // files), so closing this descriptor cannot drop one of its locks.
        return WALSync(name: "zentra-walsync", sync: {
            #if canImport(Darwin)
            _ = fcntl(descriptor, F_FULLFSYNC)
            #else
            while fdatasync(descriptor) != 0 && errno == EINTR {}
            #endif
        }, closing: { close(descriptor) })
    }

    /// Ends the writer's transaction on `sql` (`GroupCommit.Commit`): its answers wait for a sync.
    var commit: GroupCommit.Commit {
        { [self] sql in
            let number = begin()
            do {
                try await sql.execute("COMMIT")
            } catch {
                failed(number)
                throw error
            }
            return { answers in self.committed(number, release: answers) }
        }
    }

    /// Numbers a `COMMIT`, before it runs.
    func begin() -> UInt64 {
        begun.add(1, ordering: .sequentiallyConsistent).newValue
    }

    /// After `COMMIT` number `commit` returned: `release` (its answers) runs once it is durable.
    func committed(_ commit: UInt64, release: @escaping @Sendable () -> Void) {
        condition.lock()
        if stopped {
            condition.unlock()
            sync()
            release()
            return
        }
        finished = max(finished, commit)
        waiting.append((commit, release))
        condition.signal()
        condition.unlock()
    }

    /// After `COMMIT` number `commit` failed.
    func failed(_ commit: UInt64) {
        condition.lock()
        finished = max(finished, commit)
        condition.signal()
        condition.unlock()
    }

    /// Returns once every `COMMIT` begun before the call is synced: called after a read, it
    /// keeps the read's answer from showing what is not yet durable.
    func barrier() async {
        let commit = begun.load(ordering: .sequentiallyConsistent)
        guard synced.load(ordering: .sequentiallyConsistent) < commit else { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            condition.lock()
            if synced.load(ordering: .sequentiallyConsistent) >= commit {
                condition.unlock()
                continuation.resume()
                return
            }
            if stopped {
                condition.unlock()
                sync()
                continuation.resume()
                return
            }
            waiting.append((commit, { continuation.resume() }))
            condition.signal()
            condition.unlock()
        }
    }

    /// Ends the thread after a last sync; later commits sync in the caller.
    func stop() {
        condition.lock()
        stopped = true
        condition.signal()
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            // A sync is due when something waits on a `COMMIT` that has finished.
            while !stopped && !waiting.contains(where: { $0.commit <= finished }) { condition.wait() }
            let target = finished
            let done = stopped
            condition.unlock()

            sync()
            synced.store(target, ordering: .sequentiallyConsistent)
            condition.lock()
            var ready: [@Sendable () -> Void] = []
            waiting.removeAll { entry in
                guard done || entry.commit <= target else { return false }
                ready.append(entry.release)
                return true
            }
            condition.unlock()
            for release in ready { release() }
            if done { return }
        }
    }
}
