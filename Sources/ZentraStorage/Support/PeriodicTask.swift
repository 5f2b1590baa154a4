import Logging
import ServiceLifecycle

/// The one loop of every background chore (hold expiry, idempotency purge, SQLite checkpoints):
/// wait `interval`, run `work`, again, until graceful shutdown or cancellation. A failed round is
/// logged (when there is a logger) and the next one runs: a chore never stops the process.
public struct PeriodicTask: Service {
    public let name: String
    public let interval: Duration
    public let logger: Logger?
    public let work: @Sendable () async throws -> Void

    public init(_ name: String, every interval: Duration, logger: Logger?, work: @escaping @Sendable () async throws -> Void) {
        self.name = name
        self.interval = interval
        self.logger = logger
        self.work = work
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
            do {
                try await work()
            } catch {
                logger?.warning("\(name) failed", metadata: ["error": "\(error)"])
            }
        }
    }
}
