import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import ZentraApp
import ZentraCore
import ZentraStorage
import ZentraWebhooks

/// Delivers webhooks. Every process of a deployment runs one. Each pass it claims, in one
/// transaction per tenant, endpoint by endpoint, up to `claimedRounds` times the endpoint's
/// concurrency: due retries first, then a range of the endpoint's stream of events. Up to the
/// concurrency are sent at once, each endpoint by its own tasks, so a slow endpoint never delays
/// another; the rest wait in the process, and a task that finishes a send starts the next at once.
/// Beside the passes a recorder writes the attempts that finished, a range's together when its
/// last send finishes, in transactions of its own: claiming never waits for recording, which
/// under load is the larger part of the work. Each transaction carries whatever is ready, so
/// under load each commit carries many attempts or claims. On shutdown it stops claiming and
/// starting sends, lets those in flight finish (each is bounded by the timeout), records them and
/// gives back what it did not send; a claim left behind by a crash is taken over after its lease,
/// with the same `webhook-id`.
final class WebhookDeliveryWorker: Service {
    let store: Store
    let settings: WebhookDeliverySettings
    let sender: WebhookSender
    let vault: CardVault
    let metrics: WebhookMetrics
    /// Bodies of the events this process sends, rendered once for all their endpoints.
    let bodies = EventBodies()

    private struct Sends {
        /// Sends in flight in this process, per endpoint.
        var inFlight: [WebhookEndpointID: Int] = [:]
        /// Claimed deliveries waiting for one of their endpoint's sends, oldest first: a ring, so
        /// that taking the next one per send neither shifts nor copies the rest.
        var waiting: [WebhookEndpointID: CircularBuffer<ClaimedWebhookDelivery>] = [:]
        /// Sends that finished and wait for the recorder.
        var finished: [FinishedWebhookAttempt] = []
        /// Finished sends of stream claims some of whose sends have not finished yet, by claim.
        var partial: [String: [FinishedWebhookAttempt]] = [:]
        /// Set on shutdown: no send starts after it.
        var stopping = false

        func held(_ endpoint: WebhookEndpointID) -> Int { inFlight[endpoint, default: 0] + (waiting[endpoint]?.count ?? 0) }

        /// A send finished: recorded by the recorder, with the rest of its claim's range when
        /// it has one. Answers whether there is something to record now.
        mutating func finish(_ attempt: FinishedWebhookAttempt) -> Bool {
            guard case .stream(let size) = attempt.claimed.hold else {
                finished.append(attempt)
                return true
            }
            let claim = attempt.claimed.claim
            partial[claim, default: []].append(attempt)
            guard partial[claim]?.count == size else { return false }
            finished += partial.removeValue(forKey: claim) ?? []
            return true
        }

        /// The endpoint's next waiting delivery, taken off its queue.
        mutating func next(for endpoint: WebhookEndpointID) -> ClaimedWebhookDelivery? {
            guard !stopping, let next = waiting[endpoint]?.popFirst() else { return nil }
            if waiting[endpoint]?.isEmpty == true { waiting[endpoint] = nil }
            return next
        }
    }

    private let sends = Mutex(Sends())
    /// Rung when a send leaves its endpoint a round of sends to claim, or its endpoint nothing
    /// in flight, so that the next pass runs at once rather than at the next poll; not on every
    /// send, where a pass would mostly find nothing to do.
    private let claimable = WakeSignal()
    /// Rung when a send finishes something to record: a range's last send, or a retry.
    private let recordable = WakeSignal()

    init(store: Store, settings: WebhookDeliverySettings, policy: OutboundURLPolicy, vault: CardVault, metrics: WebhookMetrics) {
        self.store = store
        self.settings = settings
        self.sender = WebhookSender(policy: policy, clock: store.clock, timeoutMs: settings.timeoutMs)
        self.vault = vault
        self.metrics = metrics
    }

    func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask { [self] in
                while !Task.isCancelled && !Task.isShuttingDownGracefully {
                    await record()
                    await cancelWhenGracefulShutdown { [settings, recordable] in await recordable.wait(upTo: settings.pollInterval) }
                }
            }
            // A process allowed no sends leaves the outbox to the others.
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                if settings.inFlight_max > 0 { await claim(group: &group) }
                // Until a send finishes or the poll interval passes; shutdown cuts the wait short.
                await cancelWhenGracefulShutdown { [settings, claimable] in await claimable.wait(upTo: settings.pollInterval) }
            }
            sends.withLock { $0.stopping = true }
        }
        // Every send has finished: record the last of them, and give back what was not sent.
        await record()
        let (unsent, partial) = sends.withLock { sends in
            defer { (sends.waiting, sends.partial) = ([:], [:]) }
            return (sends.waiting.values.flatMap { $0 }, sends.partial.values.flatMap { $0 })
        }
        let finished = Dictionary(grouping: partial, by: \.claimed.tenant)
        for (tenant, claimed) in Dictionary(grouping: unsent, by: \.tenant) {
            do {
                try await WebhookDeliveryService.record(tenant: tenant, finished: finished[tenant] ?? [], unsent: claimed, settings: settings,
                                                        store: store)
            } catch {
                store.logger.warning("webhook claims not given back", metadata: ["tenant": "\(tenant)", "error": "\(error)"])
            }
        }
    }

    /// Records the attempts that finished since the last time, a transaction per tenant.
    private func record() async {
        let finished = Dictionary(grouping: sends.withLock { sends in
            defer { sends.finished = [] }
            return sends.finished
        }, by: \.claimed.tenant)
        for (tenant, recorded) in finished {
            do {
                try await WebhookDeliveryService.record(tenant: tenant, finished: recorded, settings: settings, store: store)
                metrics.recorded(recorded.count)
            } catch {
                // Their claims still hold: recorded the next time, or, if this process stops
                // first, sent again after the lease (a receiver dedupes on `webhook-id`).
                sends.withLock { $0.finished += recorded }
                store.logger.warning("webhook attempts not recorded", metadata: ["tenant": "\(tenant)", "error": "\(error)"])
            }
        }
    }

    /// Claims for every endpoint with something to send what its sends can take, and starts them.
    private func claim(group: inout DiscardingTaskGroup) async {
        let claims: [TenantID: [(endpoint: WebhookEndpointID, limit: Int)]]
        do {
            claims = try await freeSends()
        } catch {
            store.logger.warning("webhook delivery pass failed", metadata: ["error": "\(error)"])
            return
        }
        for (tenant, limits) in claims {
            do {
                let claimed = try await WebhookDeliveryService.claim(tenant: tenant, claims: limits, settings: settings, vault: vault, bodies: bodies,
                                                                     store: store)
                for delivery in claimed { start(delivery, group: &group) }
            } catch {
                store.logger.warning("webhook deliveries not claimed", metadata: ["tenant": "\(tenant)", "error": "\(error)"])
            }
        }
    }

    /// The endpoints with something to send and how many more sends each may have claimed, within
    /// the per-endpoint and the process's limits. Where the process's limit is short, it is
    /// shared evenly: the endpoints that want less get what they want, the others equal parts.
    private func freeSends() async throws -> [TenantID: [(endpoint: WebhookEndpointID, limit: Int)]] {
        let due = try await WebhookOutbox.dueEndpoints(now: store.clock.now(), limit: 1000, engine: store.engine)
        let (held, inFlight) = sends.withLock { sends in
            (Dictionary(sends.inFlight.keys.map { ($0, sends.held($0)) } + sends.waiting.keys.map { ($0, sends.held($0)) },
                        uniquingKeysWith: { first, _ in first }),
             sends.inFlight.values.reduce(0, +))
        }
        let wants = due.map { tenant, endpoint in (tenant: tenant, endpoint: endpoint, want: settings.held_max - held[endpoint, default: 0]) }
            .filter { $0.want > 0 }
        var left = settings.inFlight_max - inFlight
        var claims: [TenantID: [(endpoint: WebhookEndpointID, limit: Int)]] = [:]
        for (index, (tenant, endpoint, want)) in wants.sorted(by: { $0.want < $1.want }).enumerated() {
            let free = min(want, left / (wants.count - index))
            guard free > 0 else { continue }
            claims[tenant, default: []].append((endpoint, free))
            left -= free
        }
        return claims
    }

    /// Sends the delivery now if its endpoint has a send free, or queues it behind the endpoint's
    /// sends in flight; a task that finishes a send goes on with the endpoint's next.
    private func start(_ delivery: ClaimedWebhookDelivery, group: inout DiscardingTaskGroup) {
        let endpoint = delivery.delivery.webhookEndpoint
        let now = sends.withLock { sends -> Bool in
            guard sends.inFlight[endpoint, default: 0] < settings.concurrency else {
                sends.waiting[endpoint, default: []].append(delivery)
                return false
            }
            sends.inFlight[endpoint, default: 0] += 1
            return true
        }
        guard now else { return }
        // With one round free of what the endpoint may hold, the next pass claims it.
        let roundFree = settings.held_max - settings.concurrency
        // On the loop of the endpoint's connections: a send's write and its answer wake no other thread.
        group.addTask(executorPreference: OutboundHTTP.executor(for: delivery.url)) { [self] in
            var next: ClaimedWebhookDelivery? = delivery
            while let delivery = next {
                metrics.sendStarted()
                let outcome = await sender.send(delivery)
                metrics.sendFinished(outcome, eventCreatedAt: delivery.eventCreatedAt, now: store.clock.now())
                let (record, claim): (Bool, Bool)
                (next, record, claim) = sends.withLock { sends in
                    let record = sends.finish(FinishedWebhookAttempt(claimed: delivery, outcome: outcome, random: UInt64.random(in: .min ... .max)))
                    if let next = sends.next(for: endpoint) { return (next, record, sends.held(endpoint) == roundFree) }
                    sends.inFlight[endpoint, default: 1] -= 1
                    if sends.inFlight[endpoint] == 0 { sends.inFlight[endpoint] = nil }
                    return (nil, record, true)
                }
                if record { recordable.signal() }
                if claim { claimable.signal() }
            }
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

    /// Whether a signal is waiting for the next wait, which then returns at once.
    var isPending: Bool { state.withLock(\.pending) }

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
            // Rings when the time is up, and not when the wait ended first and cancels it: a
            // spare signal would make the next wait return at once, and so on, a busy loop.
            group.addTask {
                guard (try? await Task.sleep(for: timeout)) != nil else { return }
                self.signal()
            }
            // A cancelled waiter (shutdown) returns at once.
            await withTaskCancellationHandler {
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
            } onCancel: {
                self.signal()
            }
            group.cancelAll()
        }
    }
}
