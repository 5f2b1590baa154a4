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

    init(store: Store, settings: WebhookDeliverySettings, policy: OutboundURLPolicy, vault: CardVault) {
        self.store = store
        self.settings = settings
        self.sender = WebhookSender(policy: policy, clock: store.clock, timeout_ms: settings.timeout_ms)
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
                do {
                    try await cancelWhenGracefulShutdown { [settings] in try await Task.sleep(for: settings.poll_interval) }
                } catch {
                    return
                }
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
                tenant: tenant, endpoint: endpoint, limit: free, settings: settings, vault: vault, random: { UInt64.random(in: .min ... .max) },
                store: store)
            for delivery in claimed {
                inFlight.withLock { $0[endpoint, default: 0] += 1 }
                group.addTask { [self] in
                    await send(delivery)
                    inFlight.withLock { counts in
                        counts[endpoint, default: 1] -= 1
                        if counts[endpoint] == 0 { counts[endpoint] = nil }
                    }
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
