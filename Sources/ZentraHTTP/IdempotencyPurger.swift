import Logging
import ServiceLifecycle
import ZentraStorage

/// Deletes idempotency records past their retention, every minute, in bounded batches; stops on
/// graceful shutdown.
struct IdempotencyPurger: Service {
    let store: Store

    func run() async throws {
        while !Task.isShuttingDownGracefully {
            try? await cancelWhenGracefulShutdown {
                try await Task.sleep(for: .seconds(60))
            }
            guard !Task.isShuttingDownGracefully else { return }
            do {
                try await IdempotencyRecords.purgeExpired(now: store.clock.now(), engine: store.engine)
            } catch {
                store.logger.warning("idempotency purge failed", metadata: ["error": "\(error)"])
            }
        }
    }
}
