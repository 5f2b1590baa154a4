import Logging
import ServiceLifecycle
import Synchronization
import ZentraApp
import ZentraCore
import ZentraStorage
import ZentraWebhooks

/// Delivers webhooks. Every process of a deployment runs one: each pass turns new events into
/// deliveries (one process per tenant at a time, under the tenant's cursor lock), claims due
/// deliveries endpoint by endpoint up to its in-flight limits, and sends each in its own task, so a
/// slow endpoint never delays another. On shutdown it stops claiming and lets sends in flight
/// finish (each is bounded by the timeout); a claim left behind is retried after its lease.
final class WebhookDeliveryWorker: Service {
    let store: Store
    let settings: WebhookDeliverySettings
    let sender: WebhookSender
    let vault: CardVault

    /// Sends in flight in this process, per endpoint.
    private let inFlight = Mutex<[WebhookEndpointID: Int]>([:])
    /// Rung when a send finishes, so a busy endpoint's next deliveries are claimed at once rather
    /// than at the next poll.
    private let slotFreed = WakeSignal()

    init(store: Store, settings: WebhookDeliverySettings, policy: OutboundURLPolicy, vault: CardVault) {
        self.store = store
        self.settings = settings
        self.sender = WebhookSender(policy: policy, clock: store.clock, timeoutMs: settings.timeoutMs)
        self.vault = vault
    }

    func run() async throws {
        await withDiscardingTaskGroup { group in
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                do {
                    try await pass(group: &group)
                } catch {
                    store.logger.warning("webhook delivery pass failed", metadata: ["error": "\(error)"])
                }
                // Until a send finishes or the poll interval passes; shutdown cuts the wait short.
                await cancelWhenGracefulShutdown { [settings, slotFreed] in await slotFreed.wait(upTo: settings.poll_interval) }
            }
        }
    }

    private func pass(group: inout DiscardingTaskGroup) async throws {
        for tenant in try await WebhookOutbox.tenantsBehind(engine: store.engine) {
            try await WebhookDeliveryService.fanOut(tenant: tenant, store: store)
        }
        let due = try await WebhookOutbox.dueEndpoints(now: store.clock.now(), limit: 1000, engine: store.engine)
        for (tenant, endpoint) in due {
            let free = inFlight.withLock { counts in
                min(settings.inFlight_max - counts.values.reduce(0, +), settings.inFlightPerEndpoint_max - counts[endpoint, default: 0])
            }
            guard free > 0 else { continue }
            let claimed = try await WebhookDeliveryService.claim(
                tenant: tenant, endpoint: endpoint, limit: free, settings: settings, vault: vault, store: store)
            for delivery in claimed {
                inFlight.withLock { $0[endpoint, default: 0] += 1 }
                group.addTask { [self] in
                    await send(delivery)
                    inFlight.withLock { counts in
                        counts[endpoint, default: 1] -= 1
                        if counts[endpoint] == 0 { counts[endpoint] = nil }
                    }
                    slotFreed.signal()
                }
            }
        }
    }

    private func send(_ delivery: ClaimedWebhookDelivery) async {
        let outcome = await sender.send(delivery)
        do {
            try await WebhookDeliveryService.record(outcome, for: delivery, settings: settings, random: UInt64.random(in: .min ... .max), store: store)
        } catch {
            // The claim stays; once its lease ends the delivery is attempted again.
            store.logger.warning("webhook attempt not recorded", metadata: ["delivery": "\(delivery.delivery.id)", "error": "\(error)"])
        }
    }
}

/// One waiter, woken by a signal or after a timeout; a signal with no one waiting wakes the next wait.
final class WakeSignal: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    func signal() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter else {
                state.pending = true
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
    }

    func wait(upTo timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            // Also rings when cancelled, so a cancelled wait returns at once; a spare signal only
            // makes one pass early.
            group.addTask {
                try? await Task.sleep(for: timeout)
                self.signal()
            }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { state -> Bool in
                    if state.pending {
                        state.pending = false
                        return true
                    }
                    state.waiter = continuation
                    return false
                }
                if now { continuation.resume() }
            }
            group.cancelAll()
        }
    }
}
