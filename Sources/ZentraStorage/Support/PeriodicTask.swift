import Logging
import ServiceLifecycle

/// The one loop of every background chore (hold expiry, idempotency purge, SQLite checkpoints):
/// wait `interval`, run `work`, again, until graceful shutdown or cancellation. A failed round is
/// logged (when there is a logger) and the next one runs: a chore never stops the process.
public struct PeriodicTask: Service {
    public let name: String
    public let interval: Duration
    /// The wait after a round that found nothing to do.
    public let idleInterval: Duration
    public let logger: Logger?
    /// Answers whether the round found anything to do.
    public let work: @Sendable () async throws -> Bool

    public init(_ name: String, every interval: Duration, logger: Logger?, work: @escaping @Sendable () async throws -> Void) {
        self.init(name, every: interval, whenIdle: interval, logger: logger) {
            try await work()
            return true
        }
    }

    /// A chore that runs every `interval` while it finds work, and every `idleInterval` once a
    /// round found none: frequent under load without waking an idle process as often.
    public init(_ name: String, every interval: Duration, whenIdle idleInterval: Duration, logger: Logger?,
                work: @escaping @Sendable () async throws -> Bool) {
        self.name = name
        self.interval = interval
        self.idleInterval = idleInterval
        self.logger = logger
        self.work = work
    }

    public func run() async throws {
        var wait = interval
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let wait = wait
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) }
            } catch {
                return
            }
            do {
                wait = try await work() ? interval : idleInterval
            } catch {
                wait = interval
                logger?.warning("\(name) failed", metadata: ["error": "\(error)"])
            }
        }
    }
}
