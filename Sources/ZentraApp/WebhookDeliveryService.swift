import ZentraCore
import ZentraStorage

/// How deliveries are scheduled, leased and run.
public struct WebhookDeliverySettings: Sendable {
    public var schedule: WebhookRetrySchedule
    /// How long one attempt may take, connect to last byte (`ZENTRA_WEBHOOK_TIMEOUT_MS`).
    public var timeoutMs: Int
    /// How often a process looks for new events and due deliveries when no finished send wakes
    /// it sooner.
    public var pollInterval: Duration = .milliseconds(100)
    /// Sends one process has in flight to one endpoint (`ZENTRA_WEBHOOK_CONCURRENCY`): a slow or
    /// dead endpoint holds at most these, never the others' share.
    public var concurrency = 16
    /// Sends one process has in flight to all endpoints together: bounds its sockets and memory.
    /// With 0 the process delivers nothing and leaves the outbox to the others.
    public var inFlight_max = 1_024
    /// Rounds of sends a process claims ahead per endpoint: the one in flight and those waiting
    /// to follow it, so that a finished send starts the next at once instead of after a commit.
    public static let claimedRounds = 4
    /// How long a claimed delivery stays with the process that claimed it: the rounds of sends
    /// before and including it, each within the timeout, and a margin to record it. A process
    /// that stops sooner leaves it to be retried after this.
    public var leaseSeconds: Int64 { Int64(Self.claimedRounds * timeoutMs / 1000) + 60 }
    public static let concurrencyRange = 1...256

    public init(schedule: WebhookRetrySchedule = .default, timeoutMs: Int = 10_000) {
        self.schedule = schedule
        self.timeoutMs = timeoutMs
    }
}

/// A delivery one process holds and is about to send: where, signed with which secrets, and the
/// exact body. The `webhook-id` is the event's id.
public struct ClaimedWebhookDelivery: Sendable {
    public let tenant: TenantID
    public let delivery: WebhookDelivery
    public let claim: String
    public let url: String
    /// The current secret, then during a rotation's grace period the one before it.
    public let secrets: [String]
    public let body: [UInt8]
    /// When the event happened: a delivery's lag is measured from it.
    public let eventCreatedAt: Timestamp
    /// When this process claimed it: the attempt is recorded at this time.
    public let claimedAt: Timestamp
    public var messageID: String { delivery.event.rawValue }

    public init(tenant: TenantID, delivery: WebhookDelivery, claim: String, url: String, secrets: [String], body: [UInt8],
                eventCreatedAt: Timestamp, claimedAt: Timestamp) {
        self.tenant = tenant
        self.delivery = delivery
        self.claim = claim
        self.url = url
        self.secrets = secrets
        self.body = body
        self.eventCreatedAt = eventCreatedAt
        self.claimedAt = claimedAt
    }
}

/// How many more deliveries one process may claim as they are made: per endpoint up to
/// `perEndpoint` minus those it holds, and `total` in all. An endpoint with deliveries already
/// due is `backlogged`: its new ones queue behind those instead of going first.
public struct ClaimRoom: Sendable {
    public let perEndpoint: Int
    public var held: [WebhookEndpointID: Int]
    public var total: Int
    public let backlogged: Set<WebhookEndpointID>

    public init(perEndpoint: Int, held: [WebhookEndpointID: Int], total: Int, backlogged: Set<WebhookEndpointID>) {
        self.perEndpoint = perEndpoint
        self.held = held
        self.total = total
        self.backlogged = backlogged
    }

    /// Takes room for one delivery to `endpoint`, if there is any.
    public mutating func take(_ endpoint: WebhookEndpointID) -> Bool {
        guard total > 0, !backlogged.contains(endpoint), held[endpoint, default: 0] < perEndpoint else { return false }
        held[endpoint, default: 0] += 1
        total -= 1
        return true
    }
}

/// A send that finished and what it came to, waiting for its worker's next transaction.
public struct FinishedWebhookAttempt: Sendable {
    public let claimed: ClaimedWebhookDelivery
    public let outcome: WebhookAttemptOutcome
    /// The retry jitter's randomness, drawn by the worker: the schedule itself stays deterministic.
    public let random: UInt64

    public init(claimed: ClaimedWebhookDelivery, outcome: WebhookAttemptOutcome, random: UInt64) {
        self.claimed = claimed
        self.outcome = outcome
        self.random = random
    }
}

public struct RedeliverEvent: Sendable, Decodable {
    /// Only this endpoint; by default every enabled endpoint that subscribes to the event's type.
    public var webhookEndpoint: Reference<WebhookEndpointKind>?

    public init(webhookEndpoint: Reference<WebhookEndpointKind>?) { self.webhookEndpoint = webhookEndpoint }
}

/// Webhook delivery from the events table, a transactional outbox: an event exists exactly when
/// the change it reports committed, so turning events into deliveries after the fact never sends
/// one for a rolled-back change and never loses one. Deliveries are claimed row by row with a
/// lease, sent with no database lock held, and their attempts recorded against the claim, so two
/// processes never send the same attempt and a stopped process's claims are retried.
public enum WebhookDeliveryService {
    static let actor = "system:webhook_delivery"
    static let fanOutBatch_max = 500

    static func scope(_ tenant: TenantID) -> WriteScope { WriteScope(tenant: tenant, actor: actor, requestID: nil) }

    /// Turns a tenant's events past its cursor into deliveries, for every enabled endpoint that
    /// subscribes to them and existed when they happened. Answers how many deliveries it made.
    @discardableResult
    public static func fanOut(tenant: TenantID, store: Store) async throws -> Int {
        var made = 0
        while true {
            let batch = try await store.write(scope(tenant)) { tx in
                var room = ClaimRoom(perEndpoint: 0, held: [:], total: 0, backlogged: [])
                return try await fanOutBatch(room: &room, waitForCursor: true, leaseEnd: tx.now, in: tx)
            }
            made += batch.made
            if !batch.more { return made }
        }
    }

    struct FanOut {
        var made = 0
        var more = false
        /// The deliveries made claimed by this process, with their claims.
        var born: [(delivery: WebhookDelivery, claim: String)] = []
    }

    /// One batch of the tenant's events past its cursor turned into deliveries, under the cursor's
    /// lock (one process at a time; without `waitForCursor` a process finding it held leaves the
    /// batch to that one). Those `room` allows are made claimed by this process, which then sends
    /// them without claiming them in another write.
    static func fanOutBatch(room: inout ClaimRoom, waitForCursor: Bool, leaseEnd: Timestamp, in tx: WriteTransaction) async throws -> FanOut {
        guard let cursor = try await tx.webhookDeliveries.lockedCursor(skipIfLocked: !waitForCursor) else { return FanOut() }
        let endpoints = try await tx.webhookEndpoints.all(status: .enabled)
        guard !endpoints.isEmpty else {
            // No one to deliver to: what happened meanwhile is never sent, so skip it at once.
            try await tx.webhookDeliveries.moveCursorToLatestEvent()
            return FanOut()
        }
        let events = try await tx.events.heads(after: cursor, limit: fanOutBatch_max)
        guard let last = events.last else { return FanOut() }
        var batch = FanOut(more: events.count == fanOutBatch_max)
        var rows: [(delivery: WebhookDelivery, claim: String?, due: Timestamp?)] = []
        for event in events {
            for endpoint in endpoints where endpoint.subscribes(to: event.type) && event.createdAt >= endpoint.createdAt {
                let delivery = WebhookDelivery(id: tx.newID(), webhookEndpoint: endpoint.id, event: event.id, eventType: event.type,
                                               redelivery: false, createdAt: tx.now)
                if room.take(endpoint.id) {
                    let claim = tx.newID(WebhookDeliveryKind.self).rawValue
                    rows.append((delivery, claim, leaseEnd))
                    batch.born.append((delivery, claim))
                } else {
                    rows.append((delivery, nil, delivery.nextAttemptAt))
                }
            }
        }
        try await tx.webhookDeliveries.insert(rows)
        try await tx.webhookDeliveries.setCursor(last.sequence)
        batch.made = rows.count
        return batch
    }

    /// One delivery worker's transaction for a tenant: records the attempts that finished since
    /// its last one; with `room`, turns a batch of new events into deliveries, claiming those the
    /// room allows as it makes them; then claims up to `limit` due deliveries of each endpoint
    /// named. A batch of sends costs one commit, not one each; when the transaction fails nothing
    /// of it is written, and the worker keeps the attempts to record them again (their claims
    /// still hold).
    public static func recordAndClaim(tenant: TenantID, finished: [FinishedWebhookAttempt], claims: [(endpoint: WebhookEndpointID, limit: Int)],
                                      room: ClaimRoom? = nil, settings: WebhookDeliverySettings, vault: CardVault,
                                      store: Store) async throws -> [ClaimedWebhookDelivery] {
        try await store.write(scope(tenant)) { tx in
            try await record(finished, settings: settings, in: tx)
            let leaseEnd = tx.now.adding(seconds: settings.leaseSeconds)
            var born: [(delivery: WebhookDelivery, claim: String)] = []
            if var room { born = try await fanOutBatch(room: &room, waitForCursor: false, leaseEnd: leaseEnd, in: tx).born }
            let due = claims.filter { $0.limit > 0 }
            let endpoints = try await openSecrets(Array(Set(due.map(\.endpoint) + born.map(\.delivery.webhookEndpoint))), vault: vault, in: tx)
            var claimed = born.compactMap { delivery, claim in
                endpoints[delivery.webhookEndpoint].map { Claim(delivery: delivery, id: claim, endpoint: $0.endpoint, secrets: $0.secrets) }
            }
            // An endpoint disabled since its deliveries were made: they wait unclaimed, like its others.
            try await tx.webhookDeliveries.update(born.filter { endpoints[$0.delivery.webhookEndpoint] == nil }.map { ($0.delivery, nil, tx.now) })
            claimed += try await claim(due, endpoints: endpoints, settings: settings, leaseEnd: leaseEnd, in: tx)
            // Each event is read and rendered once, however many endpoints it goes to.
            let events = try await tx.events.findAll(Array(Set(claimed.map(\.delivery.event))))
            var bodies: [EventID: [UInt8]] = [:]
            return claimed.compactMap { claim -> ClaimedWebhookDelivery? in
                guard let event = events[claim.delivery.event] else { return nil }
                let body = bodies[event.id] ?? event.serialized
                bodies[event.id] = body
                return ClaimedWebhookDelivery(tenant: tenant, delivery: claim.delivery, claim: claim.id, url: claim.endpoint.url,
                                              secrets: claim.secrets, body: body, eventCreatedAt: event.createdAt, claimedAt: tx.now)
            }
        }
    }

    /// A delivery just claimed, before its event is read.
    struct Claim {
        let delivery: WebhookDelivery
        let id: String
        let endpoint: WebhookEndpoint
        let secrets: [String]
    }

    /// The enabled ones of these endpoints, each with its secrets opened: the current one, then
    /// during a rotation's grace period the one before it.
    static func openSecrets(_ ids: [WebhookEndpointID], vault: CardVault,
                            in tx: WriteTransaction) async throws -> [WebhookEndpointID: (endpoint: WebhookEndpoint, secrets: [String])] {
        guard !ids.isEmpty else { return [:] }
        var endpoints: [WebhookEndpointID: (endpoint: WebhookEndpoint, secrets: [String])] = [:]
        for (id, (found, sealed, sealedPrevious)) in try await tx.webhookEndpoints.withSecrets(ids) where found.status == .enabled {
            var secrets = [try vault.open(secret: sealed, tenant: tx.tenant, purpose: WebhookEndpointService.secretPurpose)]
            if let sealedPrevious, let until = found.previousSecretExpiresAt, tx.now < until {
                secrets.append(try vault.open(secret: sealedPrevious, tenant: tx.tenant, purpose: WebhookEndpointService.previousSecretPurpose))
            }
            endpoints[id] = (found, secrets)
        }
        return endpoints
    }

    /// Claims up to each endpoint's limit of its due deliveries for this process, all endpoints in
    /// one read and one write. A claim left by a process that stopped mid-attempt is recorded as an
    /// `interrupted` attempt first.
    static func claim(_ limits: [(endpoint: WebhookEndpointID, limit: Int)], endpoints: [WebhookEndpointID: (endpoint: WebhookEndpoint, secrets: [String])],
                      settings: WebhookDeliverySettings, leaseEnd: Timestamp, in tx: WriteTransaction) async throws -> [Claim] {
        let limits = limits.filter { endpoints[$0.endpoint] != nil }
        guard !limits.isEmpty else { return [] }
        var claimed: [Claim] = []
        var exhausted: [(WebhookDelivery, WebhookDeliveryStep)] = []
        for stored in try await tx.webhookDeliveries.due(limits) {
            guard let (found, secrets) = endpoints[stored.delivery.webhookEndpoint] else { continue }
            var delivery = stored.delivery
            if stored.claim != nil {
                let interrupted = WebhookAttemptOutcome(statusCode: nil, latencyMs: 0, failure: CallFailure.interrupted.rawValue, responseExcerpt: nil,
                                                        retryAfterSeconds: nil)
                delivery.attempts.append(attempt(interrupted, number: delivery.attempts.count + 1, at: stored.claimedAt ?? tx.now))
                // Sent again at once (the lease already waited), unless that was the schedule's last attempt.
                if delivery.attempts.count >= settings.schedule.attempts_max {
                    exhausted.append((concluded(delivery, .exhausted, at: tx.now), .exhausted))
                    continue
                }
            }
            delivery.nextAttemptAt = tx.now
            delivery.updatedAt = tx.now
            claimed.append(Claim(delivery: delivery, id: tx.newID(WebhookDeliveryKind.self).rawValue, endpoint: found, secrets: secrets))
        }
        try await tx.webhookDeliveries.update(claimed.map { ($0.delivery, $0.id, leaseEnd) })
        try await tx.webhookDeliveries.update(exhausted.map { delivery, _ in (delivery, nil, delivery.nextAttemptAt) })
        try await consequences(of: exhausted, in: tx)
        return claimed
    }

    /// Gives back claims this process will not send (it is stopping): due again at once, for any
    /// process, rather than after their lease. A claim already lost is left to its new holder.
    public static func release(tenant: TenantID, _ claimed: [ClaimedWebhookDelivery], store: Store) async throws {
        guard !claimed.isEmpty else { return }
        try await store.write(scope(tenant)) { tx in
            let held = try await tx.webhookDeliveries.claimed(claimed.map { ($0.delivery.id, $0.claim) })
            try await tx.webhookDeliveries.update(claimed.filter { held[$0.delivery.id] != nil }.map { ($0.delivery, nil, tx.now) })
        }
    }

    /// Records what each attempt came to and decides what follows: done, the next attempt's time,
    /// or giving up (disabling the endpoint on `410 Gone`, or when the whole schedule failed and no
    /// other delivery to it succeeded meanwhile). An attempt whose claim was lost (its lease passed
    /// to another process) is not written.
    static func record(_ finished: [FinishedWebhookAttempt], settings: WebhookDeliverySettings, in tx: WriteTransaction) async throws {
        guard !finished.isEmpty else { return }
        var concluded: [(delivery: WebhookDelivery, step: WebhookDeliveryStep, claim: String)] = []
        for done in finished {
            var delivery = done.claimed.delivery
            delivery.attempts.append(attempt(done.outcome, number: delivery.attempts.count + 1, at: done.claimed.claimedAt))
            let step = WebhookDeliveryStep.after(done.outcome, attemptsMade: delivery.attempts.count, schedule: settings.schedule, now: tx.now,
                                                 random: done.random)
            concluded.append((Self.concluded(delivery, step, at: tx.now), step, done.claimed.claim))
        }
        let written = try await tx.webhookDeliveries.conclude(concluded.map { ($0.delivery, $0.claim, $0.delivery.nextAttemptAt) })
        try await consequences(of: concluded.filter { written.contains($0.delivery.id) }.map { ($0.delivery, $0.step) }, in: tx)
    }

    static func attempt(_ outcome: WebhookAttemptOutcome, number: Int, at time: Timestamp) -> WebhookAttempt {
        WebhookAttempt(number: number, attemptedAt: time, result: outcome.succeeded ? .succeeded : .failed, statusCode: outcome.statusCode,
                       latencyMs: outcome.latencyMs, error: outcome.error, responseExcerpt: outcome.responseExcerpt)
    }

    /// The delivery as the step leaves it.
    static func concluded(_ delivery: WebhookDelivery, _ step: WebhookDeliveryStep, at now: Timestamp) -> WebhookDelivery {
        var delivery = delivery
        delivery.updatedAt = now
        switch step {
        case .succeeded:
            delivery.status = .succeeded
            delivery.nextAttemptAt = nil
        case .retry(let at):
            delivery.status = .pending
            delivery.nextAttemptAt = at
        case .gone, .exhausted:
            delivery.status = .failed
            delivery.nextAttemptAt = nil
        }
        return delivery
    }

    /// What giving up on a delivery means for its endpoint.
    static func consequences(of concluded: [(WebhookDelivery, WebhookDeliveryStep)], in tx: WriteTransaction) async throws {
        for (delivery, step) in concluded {
            switch step {
            case .gone:
                try await WebhookEndpointService.disable(delivery.webhookEndpoint, reason: .gone, in: tx)
            case .exhausted:
                let since = delivery.attempts.first?.attemptedAt ?? delivery.createdAt
                if try await !tx.webhookDeliveries.succeeded(delivery.webhookEndpoint, since: since) {
                    try await WebhookEndpointService.disable(delivery.webhookEndpoint, reason: .failing, in: tx)
                }
            case .succeeded, .retry:
                break
            }
        }
    }

    /// `POST /events/{id}/redeliver`: the same event (same `webhook-id`, same body) sent again as a
    /// new delivery. No financial state is touched: nothing but delivery rows and the audit record.
    public static func redeliver(_ id: EventID, _ input: RedeliverEvent, in tx: WriteTransaction) async throws -> [WebhookDelivery] {
        guard let event = try await tx.events.findAll([id])[id] else { throw DomainError.resourceMissing("event", id: id.rawValue) }
        let endpoints: [WebhookEndpoint]
        if let named = input.webhookEndpoint {
            let endpointID = try named.id("webhook_endpoint", param: "webhook_endpoint")
            guard let endpoint = try await tx.webhookEndpoints.find(endpointID) else {
                throw DomainError.resourceMissing("webhook_endpoint", id: named.text, param: "webhook_endpoint")
            }
            guard endpoint.status == .enabled else {
                throw DomainError(.conflict, code: "webhook_endpoint_disabled", message: "Webhook endpoint \(named) is disabled; enable it first.",
                                  param: "webhook_endpoint")
            }
            guard endpoint.subscribes(to: event.type) else {
                throw DomainError(.conflict, code: "webhook_endpoint_not_subscribed",
                                  message: "Webhook endpoint \(named) does not subscribe to \(event.type) events.", param: "webhook_endpoint")
            }
            endpoints = [endpoint]
        } else {
            endpoints = try await tx.webhookEndpoints.all(status: .enabled).filter { $0.subscribes(to: event.type) }
            guard !endpoints.isEmpty else {
                throw DomainError(.conflict, code: "no_webhook_endpoint",
                                  message: "No enabled webhook endpoint subscribes to \(event.type) events: there is nothing to redeliver to.")
            }
        }
        let deliveries = endpoints.map { endpoint in
            WebhookDelivery(id: tx.newID(), webhookEndpoint: endpoint.id, event: event.id, eventType: event.type, redelivery: true, createdAt: tx.now)
        }
        try await tx.webhookDeliveries.insert(deliveries.map { ($0, nil, $0.nextAttemptAt) })
        tx.audit(.eventRedelivered, objectType: .event, objectID: event.id.rawValue, context: .object([
            "type": .string(event.type), "deliveries": .array(deliveries.map { .string($0.id.rawValue) }),
            "webhook_endpoints": .array(deliveries.map { .string($0.webhookEndpoint.rawValue) }),
        ]))
        return deliveries
    }
}
