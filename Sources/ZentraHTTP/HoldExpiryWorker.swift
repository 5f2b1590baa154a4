import Logging
import ServiceLifecycle
import ZentraApp
import ZentraCore
import ZentraStorage

/// Releases holds past their program's hold lifetime, in bounded batches. Every process of a
/// deployment may run it: each release re-reads the hold under its row locks, so a hold is released
/// once however many workers find it.
struct HoldExpiryWorker: Service {
    let store: Store
    let interval: Duration
    var batch_max = 200

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
            do {
                _ = try await HoldExpiry.releaseDue(store: store, batch_max: batch_max)
            } catch {
                store.logger.warning("hold expiry failed", metadata: ["error": "\(error)"])
            }
        }
    }
}
