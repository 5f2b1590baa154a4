import Dispatch
import Synchronization
import Testing
@testable import ZentraStorage

/// SQLite's commits are answered, and shown to readers, only once a sync of the WAL covers them.
@Suite struct WALSyncTests {
    /// A sync that reports when it starts and returns only when the test lets it.
    final class Gate: Sendable {
        let entered = DispatchSemaphore(value: 0)
        let proceed = DispatchSemaphore(value: 0)
        let syncs = Atomic<Int>(0)

        func sync() {
            syncs.add(1, ordering: .relaxed)
            entered.signal()
            proceed.wait()
        }

        /// Waits, off Swift's pool, until a sync has started.
        func syncStarted() async {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                DispatchQueue.global().async {
                    self.entered.wait()
                    continuation.resume()
                }
            }
        }
    }

    @Test func answersWaitForASyncThatBeganAfterTheirCommit() async {
        let gate = Gate()
        let sync = WALSync(name: "walsync-test") { gate.sync() }
        defer {
            sync.stop()
            gate.proceed.signal()
        }
        let (released, release) = AsyncStream.makeStream(of: UInt64.self)
        var next = released.makeAsyncIterator()
        let answered = Mutex<[UInt64]>([])
        let first = sync.begin()
        sync.committed(first) { answered.withLock { $0.append(first) }; release.yield(first) }
        await gate.syncStarted()
        #expect(answered.withLock { $0 }.isEmpty, "answered before its sync returned")

        // Committed while the first sync runs: that sync may have begun before its frames were written.
        let second = sync.begin()
        sync.committed(second) { answered.withLock { $0.append(second) }; release.yield(second) }
        gate.proceed.signal()
        #expect(await next.next() == first)
        await gate.syncStarted()
        #expect(answered.withLock { $0 } == [first], "the second commit was answered by a sync that began before it")
        gate.proceed.signal()
        #expect(await next.next() == second)
        let syncs = gate.syncs.load(ordering: .relaxed)
        #expect(syncs == 2)
    }

    @Test func aReadWaitsUntilCommitsBegunBeforeItAreSynced() async {
        let gate = Gate()
        let sync = WALSync(name: "walsync-test") { gate.sync() }
        defer {
            sync.stop()
            gate.proceed.signal()
        }
        // Nothing written yet: nothing to wait for.
        await sync.barrier()
        let syncsBefore = gate.syncs.load(ordering: .relaxed)
        #expect(syncsBefore == 0)

        let done = Atomic<Bool>(false)
        let commit = sync.begin()
        let read = Task {
            await sync.barrier()
            done.store(true, ordering: .sequentiallyConsistent)
        }
        // A `COMMIT` that failed still lets the read through once synced.
        sync.failed(commit)
        await gate.syncStarted()
        let answeredEarly = done.load(ordering: .sequentiallyConsistent)
        #expect(!answeredEarly, "the read was answered before the sync returned")
        gate.proceed.signal()
        await read.value
        let answered = done.load(ordering: .sequentiallyConsistent)
        #expect(answered)
    }
}
