import Logging
import ServiceLifecycle
import Synchronization
import ZentraApp
import ZentraCore
import ZentraStorage
import ZentraWebhooks

/// Delivers webhooks. Every process of a deployment runs one: each pass turns new events into
/// deliveries (one process per tenant at a time, under the tenant's cursor lock), then, in one
/// transaction per tenant, records the attempts that finished since the last pass and claims due
/// deliveries endpoint by endpoint up to their free sends; each send runs in its own task, so a
/// slow endpoint never delays another. A pass takes as long as its commits, so under load each
/// commit carries many attempts. On shutdown it stops claiming, lets sends in flight finish (each
/// is bounded by the timeout) and records them; a claim left behind is retried after its lease,
/// with the same `webhook-id`.
final class WebhookDeliveryWorker: Service {
    let store: Store
    let settings: WebhookDeliverySettings
    let sender: WebhookSender
    let vault: CardVault
    let metrics: WebhookMetrics

    private struct Sends {
        /// Sends in flight in this process, per endpoint.
        var inFlight: [WebhookEndpointID: Int] = [:]
        /// Sends that finished and wait for the next pass to record them.
        var finished: [FinishedWebhookAttempt] = []
    }

    private let sends = Mutex(Sends())
    /// Rung when a send finishes, so that it is recorded, and its endpoint's next deliveries
    /// claimed, at once rather than at the next poll.
    private let sendFinished = WakeSignal()

    init(store: Store, settings: WebhookDeliverySettings, policy: OutboundURLPolicy, vault: CardVault, metrics: WebhookMetrics) {
        self.store = store
        self.settings = settings
        self.sender = WebhookSender(policy: policy, clock: store.clock, timeoutMs: settings.timeoutMs)
        self.vault = vault
        self.metrics = metrics
    }

    func run() async throws {
        await withDiscardingTaskGroup { group in
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                await pass(claiming: true, group: &group)
                // Until a send finishes or the poll interval passes; shutdown cuts the wait short.
                await cancelWhenGracefulShutdown { [settings, sendFinished] in await sendFinished.wait(upTo: settings.pollInterval) }
            }
        }
        // Every send has finished: record the last of them before stopping.
        await withDiscardingTaskGroup { group in await pass(claiming: false, group: &group) }
    }

    private func pass(claiming: Bool, group: inout DiscardingTaskGroup) async {
        var claims: [TenantID: [(endpoint: WebhookEndpointID, limit: Int)]] = [:]
        if claiming {
            do {
                for tenant in try await WebhookOutbox.tenantsBehind(engine: store.engine) {
                    try await WebhookDeliveryService.fanOut(tenant: tenant, store: store)
                }
                claims = try await freeSends()
            } catch {
                store.logger.warning("webhook delivery pass failed", metadata: ["error": "\(error)"])
            }
        }
        let finished = Dictionary(grouping: sends.withLock { sends in
            defer { sends.finished = [] }
            return sends.finished
        }, by: \.claimed.tenant)
        for tenant in Set(claims.keys).union(finished.keys) {
            let recorded = finished[tenant] ?? []
            do {
                let claimed = try await WebhookDeliveryService.recordAndClaim(
                    tenant: tenant, finished: recorded, claims: claims[tenant] ?? [], settings: settings, vault: vault, store: store)
                metrics.recorded(recorded.count)
                for delivery in claimed { start(delivery, group: &group) }
            } catch {
                // Their claims still hold: recorded at the next pass, or, if this process stops
                // first, sent again after the lease (a receiver dedupes on `webhook-id`).
                sends.withLock { $0.finished += recorded }
                store.logger.warning("webhook attempts not recorded", metadata: ["tenant": "\(tenant)", "error": "\(error)"])
            }
        }
    }

    /// The endpoints with due deliveries and how many more sends each may have in flight, within
    /// the per-endpoint and the process's limits.
    private func freeSends() async throws -> [TenantID: [(endpoint: WebhookEndpointID, limit: Int)]] {
        let due = try await WebhookOutbox.dueEndpoints(now: store.clock.now(), limit: 1000, engine: store.engine)
        var counts = sends.withLock { $0.inFlight }
        var total = counts.values.reduce(0, +)
        var claims: [TenantID: [(endpoint: WebhookEndpointID, limit: Int)]] = [:]
        for (tenant, endpoint) in due {
            let free = min(settings.inFlight_max - total, settings.concurrency - counts[endpoint, default: 0])
            guard free > 0 else { continue }
            claims[tenant, default: []].append((endpoint, free))
            counts[endpoint, default: 0] += free
            total += free
        }
        return claims
    }

    private func start(_ delivery: ClaimedWebhookDelivery, group: inout DiscardingTaskGroup) {
        let endpoint = delivery.delivery.webhookEndpoint
        sends.withLock { $0.inFlight[endpoint, default: 0] += 1 }
        metrics.sendStarted()
        group.addTask { [self] in
            let outcome = await sender.send(delivery)
            metrics.sendFinished(outcome, eventCreatedAt: delivery.eventCreatedAt, now: store.clock.now())
            sends.withLock { sends in
                sends.finished.append(FinishedWebhookAttempt(claimed: delivery, outcome: outcome, random: UInt64.random(in: .min ... .max)))
                sends.inFlight[endpoint, default: 1] -= 1
                if sends.inFlight[endpoint] == 0 { sends.inFlight[endpoint] = nil }
            }
            sendFinished.signal()
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
