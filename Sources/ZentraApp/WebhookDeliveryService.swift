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
    public var concurrency = 32
    /// Sends one process has in flight to all endpoints together: bounds its sockets and memory.
    /// With 0 the process delivers nothing and leaves the outbox to the others.
    public var inFlight_max = 1_024
    /// Rounds of sends a process claims ahead per endpoint: the one in flight and those waiting
    /// to follow it, so that a finished send starts the next at once instead of after a commit.
    public static let claimedRounds = 4
    /// Deliveries a process holds for one endpoint at most: in flight and waiting.
    public var held_max: Int { Self.claimedRounds * concurrency }
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
/// exact body. The `webhook-id` is the event's id. A class: it passes from the claim to a send, to
/// its finished attempt and to the recording, and a copy of so many fields cost a retain each.
public final class ClaimedWebhookDelivery: Sendable {
    /// Where a claim is held: on the delivery's own row (a retry, a redelivery, one taken over
    /// from a stopped process), or on a claim of a range of its endpoint's stream with `size`
    /// deliveries, none stored until all of them are recorded together.
    public enum Hold: Sendable, Hashable {
        case row
        case stream(size: Int)
    }

    public let tenant: TenantID
    public let delivery: WebhookDelivery
    public let claim: String
    public let hold: Hold
    public let url: String
    /// The current secret, then during a rotation's grace period the one before it.
    public let secrets: [String]
    public let body: [UInt8]
    /// When the event happened: a delivery's lag is measured from it.
    public let eventCreatedAt: Timestamp
    /// When this process claimed it: the attempt is recorded at this time.
    public let claimedAt: Timestamp
    public var messageID: String { delivery.event.rawValue }

    public init(tenant: TenantID, delivery: WebhookDelivery, claim: String, hold: Hold, url: String, secrets: [String], body: [UInt8],
                eventCreatedAt: Timestamp, claimedAt: Timestamp) {
        self.tenant = tenant
        self.delivery = delivery
        self.claim = claim
        self.hold = hold
        self.url = url
        self.secrets = secrets
        self.body = body
        self.eventCreatedAt = eventCreatedAt
        self.claimedAt = claimedAt
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
/// the change it reports committed, so sending events after the fact never sends one for a
/// rolled-back change and never loses one. Each endpoint reads its events in order from its stream;
/// a process claims a range of it with a lease, sends it with no database lock held, and records
/// the range's attempts together against the claim, writing each delivery once. Retries wait as
/// delivery rows, claimed row by row. Two processes never send the same attempt, and a stopped
/// process's claims are taken over after their lease.
public enum WebhookDeliveryService {
    static let actor = "system:webhook_delivery"
    /// Claims taken over from stopped processes in one transaction.
    static let takeOver_max = 100

    static func scope(_ tenant: TenantID) -> WriteScope { WriteScope(tenant: tenant, actor: actor, requestID: nil) }

    /// One delivery worker's transaction for a tenant's finished attempts: each written, and what
    /// follows from it (a retry's time, giving up, the endpoint's health). A batch of sends costs
    /// one commit, not one each; when the transaction fails nothing of it is written, and the
    /// worker keeps the attempts to record them again (their claims still hold). A worker that
    /// stops gives back the claims it did not send (`unsent`): due again at once, for any
    /// process, rather than after their lease. A claim already lost is left to its new holder.
    public static func record(tenant: TenantID, finished: [FinishedWebhookAttempt], unsent: [ClaimedWebhookDelivery] = [],
                              settings: WebhookDeliverySettings, store: Store) async throws {
        guard !finished.isEmpty || !unsent.isEmpty else { return }
        try await store.write(scope(tenant)) { tx in try await record(finished, unsent: unsent, settings: settings, in: tx) }
    }

    /// One delivery worker's claim for a tenant, a transaction of its own beside the recording
    /// of earlier sends: takes over claims whose process stopped, then claims up to `limit`
    /// deliveries of each endpoint named: its due retries first, then the next events of its
    /// stream. The claimed events' bodies are read after the commit, so that rendering them never
    /// holds the writer; should that read fail, its claims are taken over after their lease.
    public static func claim(tenant: TenantID, claims: [(endpoint: WebhookEndpointID, limit: Int)], settings: WebhookDeliverySettings,
                             vault: CardVault, bodies: EventBodies, store: Store) async throws -> [ClaimedWebhookDelivery] {
        let (claimed, now) = try await store.write(scope(tenant)) { tx in
            try await takeOver(settings: settings, in: tx)
            let leaseEnd = tx.now.adding(seconds: settings.leaseSeconds)
            let due = claims.filter { $0.limit > 0 }
            let endpoints = try await openSecrets(due.map(\.endpoint), vault: vault, in: tx)
            var claimed = try await claim(due, endpoints: endpoints, settings: settings, leaseEnd: leaseEnd, in: tx)
            let taken = Dictionary(grouping: claimed, by: \.delivery.webhookEndpoint).mapValues(\.count)
            claimed += try await claimStreams(due.map { ($0.endpoint, $0.limit - taken[$0.endpoint, default: 0]) }, endpoints: endpoints,
                                              settings: settings, leaseEnd: leaseEnd, in: tx)
            return (claimed, tx.now)
        }
        guard !claimed.isEmpty else { return [] }
        let found = try await bodies.find(Set(claimed.map(\.delivery.event)), tenant: tenant, store: store)
        return claimed.compactMap { claim -> ClaimedWebhookDelivery? in
            guard let body = found[claim.delivery.event] else { return nil }
            return ClaimedWebhookDelivery(tenant: tenant, delivery: claim.delivery, claim: claim.id, hold: claim.hold, url: claim.endpoint.url,
                                          secrets: claim.secrets, body: body.bytes, eventCreatedAt: body.createdAt, claimedAt: now)
        }
    }

    /// A delivery just claimed, before its event is read.
    struct Claim: Sendable {
        let delivery: WebhookDelivery
        let id: String
        let hold: ClaimedWebhookDelivery.Hold
        let endpoint: WebhookEndpoint
        let secrets: [String]
    }

    /// Claims the next events of each endpoint's stream, up to its limit, as new deliveries: one
    /// claim row per endpoint, and each stream moved past what it looked at. A stream another
    /// process is claiming from is skipped, a paused one too, or gives one event to probe with.
    static func claimStreams(_ limits: [(endpoint: WebhookEndpointID, limit: Int)],
                             endpoints: [WebhookEndpointID: (endpoint: WebhookEndpoint, secrets: [String])], settings: WebhookDeliverySettings,
                             leaseEnd: Timestamp, in tx: WriteTransaction) async throws -> [Claim] {
        let limits = limits.filter { $0.limit > 0 && endpoints[$0.endpoint] != nil }
        let streams = try await tx.webhookDeliveries.lockedStreams(limits.map(\.endpoint))
        let open = limits.compactMap { endpoint, wanted -> (endpoint: WebhookEndpointID, limit: Int, stream: WebhookStream, end: Int64)? in
            guard let (stream, head) = streams[endpoint] else { return nil }
            let (end, limit) = (stream.end(head: head), stream.health.streamLimit(wanted, now: tx.now))
            return stream.position < end && limit > 0 ? (endpoint, limit, stream, min(end, stream.position + Int64(WebhookStreams.window))) : nil
        }
        guard !open.isEmpty else { return [] }
        let found = try await tx.webhookDeliveries.streamEvents(open.map { endpoint, limit, stream, end in
            (stream.position, end, endpoints[endpoint]?.endpoint.eventTypes ?? [], limit)
        })
        var claims: [(id: String, endpoint: WebhookEndpointID, after: Int64, through: Int64, deliveries: Int)] = []
        var moves: [(endpoint: WebhookEndpointID, stream: WebhookStream)] = []
        var claimed: [Claim] = []
        for ((endpointID, limit, stream, end), events) in zip(open, found) {
            // A full claim stops at its last event; a short one took every event of the endpoint's
            // types in the range it looked at.
            let through = events.count == limit ? events.last!.sequence : end
            var moved = stream.handedOut(through: through)
            if moved.health.pausedUntil != nil && !events.isEmpty {
                moved.health = moved.health.probing(for: Int64(settings.timeoutMs / 1000) + 1, now: tx.now)
            }
            moves.append((endpointID, moved))
            guard !events.isEmpty, let (endpoint, secrets) = endpoints[endpointID] else { continue }
            let claim = tx.newID(WebhookDeliveryKind.self).rawValue
            claims.append((claim, endpointID, stream.position, through, events.count))
            claimed += events.map { event in
                Claim(delivery: WebhookDelivery(id: tx.newID(), webhookEndpoint: endpointID, event: event.id, eventType: event.type, redelivery: false,
                                                createdAt: tx.now),
                      id: claim, hold: .stream(size: events.count), endpoint: endpoint, secrets: secrets)
            }
        }
        try await tx.webhookDeliveries.claim(claims, leaseUntil: leaseEnd, moving: moves)
        return claimed
    }

    /// Claims whose process stopped before recording them become delivery rows, each with an
    /// `interrupted` attempt (the receiver may have had it), due again at once unless that was the
    /// schedule's last attempt.
    static func takeOver(settings: WebhookDeliverySettings, in tx: WriteTransaction) async throws {
        let expired = try await tx.webhookDeliveries.expiredClaims(limit: takeOver_max)
        guard !expired.isEmpty else { return }
        var endpoints: [WebhookEndpointID: WebhookEndpoint] = [:]
        for status in WebhookEndpoint.Status.allCases {
            for endpoint in try await tx.webhookEndpoints.all(status: status) { endpoints[endpoint.id] = endpoint }
        }
        let held = expired.compactMap { claim in endpoints[claim.endpoint].map { (claim, $0) } }
        let found = try await tx.webhookDeliveries.streamEvents(held.map { claim, endpoint in
            (claim.afterSequence, claim.throughSequence, endpoint.eventTypes, Int(claim.deliveries))
        })
        var rows: [WebhookDelivery] = []
        var exhausted: [(WebhookDelivery, WebhookDeliveryStep)] = []
        for ((claim, _), events) in zip(held, found) {
            for event in events {
                let made = WebhookDelivery(id: tx.newID(), webhookEndpoint: claim.endpoint, event: event.id, eventType: event.type, redelivery: false,
                                           createdAt: claim.createdAt)
                let (delivery, spent) = interrupted(made, since: claim.createdAt, settings: settings, now: tx.now)
                if spent { exhausted.append((delivery, .exhausted)) }
                rows.append(delivery)
            }
        }
        _ = try await tx.webhookDeliveries.endClaims(expired.map(\.id))
        try await tx.webhookDeliveries.insert(rows)
        try await consequences(of: exhausted, in: tx)
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
                let spent: Bool
                (delivery, spent) = interrupted(delivery, since: stored.claimedAt ?? tx.now, settings: settings, now: tx.now)
                if spent {
                    exhausted.append((delivery, .exhausted))
                    continue
                }
            }
            delivery.nextAttemptAt = tx.now
            delivery.updatedAt = tx.now
            claimed.append(Claim(delivery: delivery, id: tx.newID(WebhookDeliveryKind.self).rawValue, hold: .row, endpoint: found, secrets: secrets))
        }
        try await tx.webhookDeliveries.update(claimed.map { ($0.delivery, $0.id, leaseEnd) })
        try await tx.webhookDeliveries.update(exhausted.map { delivery, _ in (delivery, nil, delivery.nextAttemptAt) })
        try await consequences(of: exhausted, in: tx)
        return claimed
    }

    /// Records what each attempt came to and decides what follows: done, the next attempt's time,
    /// or giving up (disabling the endpoint on `410 Gone`, or when the whole schedule failed and no
    /// other delivery to it succeeded meanwhile); `unsent` deliveries are due again at once, with no
    /// attempt. A claim on a stream's range ends with all its deliveries written at once. An
    /// attempt whose claim was lost (its lease passed to another process) is not written, but
    /// still tells of its endpoint's health, which pauses or resumes the endpoint's stream.
    static func record(_ finished: [FinishedWebhookAttempt], unsent: [ClaimedWebhookDelivery] = [], settings: WebhookDeliverySettings,
                       in tx: WriteTransaction) async throws {
        guard !finished.isEmpty || !unsent.isEmpty else { return }
        var concluded: [(delivery: WebhookDelivery, step: WebhookDeliveryStep?, claimed: ClaimedWebhookDelivery)] = []
        for done in finished {
            var delivery = done.claimed.delivery
            delivery.attempts.append(attempt(done.outcome, number: delivery.attempts.count + 1, at: done.claimed.claimedAt))
            let step = WebhookDeliveryStep.after(done.outcome, attemptsMade: delivery.attempts.count, schedule: settings.schedule, now: tx.now,
                                                 random: done.random)
            concluded.append((Self.concluded(delivery, step, at: tx.now), step, done.claimed))
        }
        for claimed in unsent {
            var delivery = claimed.delivery
            delivery.status = .pending
            delivery.nextAttemptAt = tx.now
            delivery.updatedAt = tx.now
            concluded.append((delivery, nil, claimed))
        }
        let ofStreams = concluded.filter { $0.claimed.hold != .row }
        let ended = try await tx.webhookDeliveries.endClaims(Array(Set(ofStreams.map(\.claimed.claim))))
        let fromStreams = ofStreams.filter { ended.contains($0.claimed.claim) }
        try await tx.webhookDeliveries.insert(fromStreams.map(\.delivery))
        let ofRows = concluded.filter { $0.claimed.hold == .row }
        let written = try await tx.webhookDeliveries.conclude(ofRows.map { ($0.delivery, $0.claimed.claim, $0.delivery.nextAttemptAt) })
        try await consequences(of: (fromStreams + ofRows.filter { written.contains($0.delivery.id) }).compactMap { concluded in
            concluded.step.map { (concluded.delivery, $0) }
        }, in: tx)
        try await recordHealth(finished, in: tx)
    }

    /// Each endpoint's stream health after these attempts, written where it changed: nothing for
    /// an endpoint that answers. A change is worked out again from the locked rows before it is
    /// written: a claim running beside this transaction writes its stream whole.
    static func recordHealth(_ finished: [FinishedWebhookAttempt], in tx: WriteTransaction) async throws {
        let byEndpoint = Dictionary(grouping: finished, by: \.claimed.delivery.webhookEndpoint)
        func changed(_ health: [WebhookEndpointID: WebhookStreamHealth]) -> [(endpoint: WebhookEndpointID, health: WebhookStreamHealth)] {
            byEndpoint.compactMap { endpoint, attempts -> (endpoint: WebhookEndpointID, health: WebhookStreamHealth)? in
                guard let before = health[endpoint] else { return nil }
                let succeeded = attempts.count(where: \.outcome.succeeded)
                let after = before.recorded(succeeded: succeeded, failed: attempts.count - succeeded,
                                            retryAfterSeconds: attempts.compactMap(\.outcome.retryAfterSeconds).max(), now: tx.now)
                return after == before ? nil : (endpoint, after)
            }.sorted { $0.endpoint.rawValue < $1.endpoint.rawValue }
        }
        let unlocked = changed(try await tx.webhookDeliveries.streamHealth(Array(byEndpoint.keys)))
        guard !unlocked.isEmpty else { return }
        try await tx.webhookDeliveries.setStreamHealth(changed(try await tx.webhookDeliveries.streamHealth(unlocked.map(\.endpoint), locked: true)))
    }

    /// A delivery whose process stopped with its attempt in flight, or before recording it: the
    /// attempt recorded as `interrupted` at `since`, the delivery due again at once (the lease
    /// already waited), unless that was the schedule's last attempt (`spent`).
    static func interrupted(_ delivery: WebhookDelivery, since: Timestamp, settings: WebhookDeliverySettings,
                            now: Timestamp) -> (delivery: WebhookDelivery, spent: Bool) {
        var delivery = delivery
        let outcome = WebhookAttemptOutcome(statusCode: nil, latencyMs: 0, failure: CallFailure.interrupted.rawValue, responseExcerpt: nil,
                                            retryAfterSeconds: nil)
        delivery.attempts.append(attempt(outcome, number: delivery.attempts.count + 1, at: since))
        guard delivery.attempts.count < settings.schedule.attempts_max else { return (concluded(delivery, .exhausted, at: now), true) }
        delivery.nextAttemptAt = now
        delivery.updatedAt = now
        return (delivery, false)
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
        try await tx.webhookDeliveries.insert(deliveries)
        tx.audit(.eventRedelivered, objectType: .event, objectID: event.id.rawValue, context: .object([
            "type": .string(event.type), "deliveries": .array(deliveries.map { .string($0.id.rawValue) }),
            "webhook_endpoints": .array(deliveries.map { .string($0.webhookEndpoint.rawValue) }),
        ]))
        return deliveries
    }
}
