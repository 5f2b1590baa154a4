import Logging
import ServiceLifecycle
import ZentraStorage

/// Deletes idempotency records past their retention, every minute, in bounded batches; stops on
/// graceful shutdown or cancellation.
struct IdempotencyPurger: Service {
    let store: Store
    var interval: Duration = .seconds(60)

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
            do {
                try await IdempotencyRecords.purgeExpired(now: store.clock.now(), engine: store.engine)
            } catch {
                store.logger.warning("idempotency purge failed", metadata: ["error": "\(error)"])
            }
        }
    }
}
