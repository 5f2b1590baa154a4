import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Synchronization
import Testing
import ZentraApp
import ZentraCore
@testable import ZentraHTTP
import ZentraStorage
import ZentraTestSupport

@Suite struct WebhookDeliveryTests {
    static let settings: WebhookDeliverySettings = {
        var settings = WebhookDeliverySettings(schedule: try! WebhookRetrySchedule(parsing: "5s,1m"), timeoutMs: 10_000)
        settings.pollInterval = .milliseconds(20)
        return settings
    }()

    /// The application runs its delivery worker (as `zentra serve` does) with these settings.
    static func configure(_ configuration: inout AppConfiguration) {
        configuration.outboundURLPolicy = try! OutboundURLPolicy(allowedNetworksList: "127.0.0.0/8")
        configuration.webhookDelivery = settings
    }

    /// Runs more delivery workers beside the application's own (each one stands for another
    /// process on the same database) while `body` runs.
    static func withMoreWorkers(_ env: TestEnvironment, count: Int, _ body: @escaping @Sendable () async throws -> Void) async throws {
        let configuration = env.services.configuration
        var settings = configuration.webhookDelivery
        settings.pollInterval = .milliseconds(20)
        // They send, even where the application's own worker was told not to.
        settings.inFlight_max = WebhookDeliverySettings().inFlight_max
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<count {
                let worker = WebhookDeliveryWorker(store: env.store, settings: settings, policy: configuration.outboundURLPolicy,
                                                   vault: CardVault(key: configuration.cardDataKey), metrics: WebhookMetrics(registry: .init()))
                group.addTask { try await worker.run() }
            }
            try await body()
            group.cancelAll()
        }
    }

    /// Waits (real time) until `condition` holds.
    static func eventually(_ what: String, timeout: Duration = .seconds(20), _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while try await !condition() {
            guard ContinuousClock.now < deadline else {
                Issue.record("timed out waiting until \(what)")
                return
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    static func createEndpoint(_ env: TestEnvironment, url: String, types: [String] = ["customer.*"]) async throws -> (id: String, secret: String) {
        let types = types.map { "\"\($0)\"" }.joined(separator: ", ")
        let reply = try await env.post("/webhook-endpoints", #"{"url": "\#(url)", "event_types": [\#(types)]}"#)
        #expect(reply.status == .created, "\(reply.text)")
        return (reply.id, reply.json["secret"] as? String ?? "")
    }

    static func deliveries(_ env: TestEnvironment, _ endpoint: String, status: String? = nil) async throws -> [[String: Any]] {
        try await env.get("/webhook-endpoints/\(endpoint)/deliveries?limit=100" + (status.map { "&status=\($0)" } ?? "")).list
    }

    static func attempts(_ delivery: [String: Any]) -> [[String: Any]] { delivery["attempts"] as? [[String: Any]] ?? [] }

    @Test(arguments: Backend.allCases)
    func deliversCommittedEventsSignedWithTheirExactBody(_ backend: Backend) async throws {
        let receiver = WebhookReceiver()
        let clock = TestClock("2026-11-23T10:00:00Z")
        try await receiver.run { port in
            try await TestEnvironment.run(backend, clock: clock, configure: Self.configure) { env in
                let before = try await env.createCustomer()
                let endpoint = try await Self.createEndpoint(env, url: "http://127.0.0.1:\(port)/hooks", types: ["customer.*"])
                let other = try await Self.createEndpoint(env, url: "http://127.0.0.1:\(port)/accounts", types: ["account.created"])
                // A unit of work that rolls back leaves no event, so nothing can be delivered for it.
                await #expect(throws: DomainError.self) {
                    try await env.store.write(WriteScope(tenant: env.tenant, actor: "test", requestID: nil)) { tx in
                        try tx.emit(.customerCreated, objectType: .customer, objectID: "cus_rolled_back", data: ["id": "cus_rolled_back"])
                        throw DomainError.invalidRequest("rolled back")
                    }
                }
                let customer = try await env.createCustomer()
                try await Self.eventually("the customer event is delivered and recorded") {
                    try await Self.deliveries(env, endpoint.id, status: "succeeded").count == 1
                }
                let calls = receiver.calls(to: "/hooks")
                #expect(calls.count == 1, "one event after the endpoint existed, none for the earlier customer \(before) or the rollback")
                let call = try #require(calls.first)
                let event = try await env.get("/events/\(call.id)")
                #expect(event.status == .ok && event.json["type"] as? String == "customer.created")
                #expect((event.json["data"] as? [String: Any])?["object"].flatMap { ($0 as? [String: Any])?["id"] as? String } == customer)
                #expect(call.body == event.body, "the body is the event exactly as GET /events/{id} answers it")
                let expected = WebhookSignature.sign(secret: endpoint.secret, messageID: call.id, timestampSeconds: call.timestamp, body: call.body)
                #expect(call.signature == expected)
                #expect(call.timestamp == clock.now().microseconds / 1_000_000, "signed at the time of sending")
                #expect(receiver.calls(to: "/accounts").isEmpty, "no account event happened")

                let delivered = try await Self.deliveries(env, endpoint.id)
                #expect(delivered.count == 1)
                let delivery = try #require(delivered.first)
                #expect((delivery["id"] as? String)?.hasPrefix("msg_") == true)
                #expect(delivery["status"] as? String == "succeeded" && delivery["event"] as? String == call.id)
                #expect(delivery["next_attempt_at"] == nil && delivery["redelivery"] as? Bool == false)
                let attempt = try #require(Self.attempts(delivery).first)
                #expect(attempt["status_code"] as? Int == 200 && attempt["result"] as? String == "succeeded")
                #expect(attempt["latency_ms"] as? Int != nil && attempt["response_excerpt"] as? String == "ok")
                #expect(try await Self.deliveries(env, other.id).isEmpty)
                #expect(try await env.get("/webhook-endpoints/\(endpoint.id)/deliveries", key: try await env.createKey(role: "developer")).status == .forbidden)
                #expect(try await env.get("/webhook-endpoints/we_missing/deliveries").status == .notFound)
                #expect(try await env.get("/webhook-endpoints/\(endpoint.id)/deliveries?status=lost").errorParam == "status")

                let metrics = try await env.get("/metrics", key: "").text
                #expect(metrics.contains(#"zentra_webhook_attempts_total{outcome="succeeded"} 1"#), "\(metrics)")
                #expect(metrics.contains(#"zentra_webhook_backlog_deliveries{endpoint="\#(endpoint.id)"} 0.0"#))
                #expect(metrics.contains("zentra_webhook_delivery_lag_seconds_count 1"))
                #expect(metrics.contains("zentra_webhook_attempts_recorded_per_commit_sum 1"))
            }
        }
    }

    /// One endpoint and `events` events for it, the application's own worker sending nothing (no
    /// free sends), so that the test claims and records through `pass`.
    static func byHand(
        _ backend: Backend, clock: TestClock, events: Int,
        _ body: @escaping @Sendable (TestEnvironment, WebhookEndpointID, _ pass: Pass) async throws -> Void
    ) async throws {
        try await TestEnvironment.run(backend, clock: clock, configure: { Self.configure(&$0); $0.webhookDelivery.inFlight_max = 0 }) { env in
            let endpoint = try await Self.createEndpoint(env, url: "http://127.0.0.1:9/hooks")
            let id = try #require(WebhookEndpointID(endpoint.id))
            for _ in 0..<events { _ = try await env.createCustomer() }
            let vault = CardVault(key: env.services.configuration.cardDataKey)
            try await body(env, id) { finished, claims in
                try await WebhookDeliveryService.record(tenant: env.tenant, finished: finished, settings: Self.settings, store: env.store)
                return try await WebhookDeliveryService.claim(tenant: env.tenant, claims: claims > 0 ? [(id, claims)] : [], settings: Self.settings,
                                                              vault: vault, bodies: EventBodies(), store: env.store)
            }
        }
    }

    /// A worker's two transactions: records these attempts, then claims up to this many deliveries.
    typealias Pass = @Sendable ([FinishedWebhookAttempt], Int) async throws -> [ClaimedWebhookDelivery]

    static let ok = WebhookAttemptOutcome(statusCode: 200, latencyMs: 3, failure: nil, responseExcerpt: nil, retryAfterSeconds: nil)

    /// A claimed range of the stream is written when all of its attempts are recorded, together;
    /// past its lease another process takes the range over (each event a delivery with an
    /// `interrupted` attempt, due again), and the first holder's outcomes are not written.
    @Test(arguments: Backend.allCases)
    func finishedAttemptsAreRecordedTogetherExceptWhereTheClaimWasLost(_ backend: Backend) async throws {
        let clock = TestClock("2026-11-23T10:00:00Z")
        try await Self.byHand(backend, clock: clock, events: 5) { env, id, pass in
            let first = try await pass([], 2)
            let second = try await pass([], 3)
            #expect(first.map(\.hold) == [.stream(size: 2), .stream(size: 2)] && second.count == 3)
            #expect(try await Self.deliveries(env, id.rawValue).isEmpty, "nothing is written before its attempt")
            _ = try await pass(first.map { FinishedWebhookAttempt(claimed: $0, outcome: Self.ok, random: 0) }, 0)
            let succeeded = try await Self.deliveries(env, id.rawValue, status: "succeeded")
            #expect(Set(succeeded.compactMap { $0["id"] as? String }) == Set(first.map(\.delivery.id.rawValue)))
            #expect(succeeded.allSatisfy { Self.attempts($0).count == 1 })

            // Past the lease another process takes the second range over.
            clock.set("2026-11-23T10:02:00Z")
            let taken = try await pass([], 1)
            #expect(taken.map(\.hold) == [.row])
            _ = try await pass(second.map { FinishedWebhookAttempt(claimed: $0, outcome: Self.ok, random: 0) }, 0)
            let pending = try await Self.deliveries(env, id.rawValue, status: "pending")
            #expect(Set(pending.compactMap { $0["event"] as? String }) == Set(second.map(\.delivery.event.rawValue)))
            #expect(pending.allSatisfy { Self.attempts($0).map { $0["error"] as? String } == ["interrupted"] },
                    "the lost claim's outcomes are not written")
            #expect(try await Self.deliveries(env, id.rawValue, status: "succeeded").count == 2)
        }
    }

    /// Each pass claims an endpoint's due retries first, then its next events in order.
    @Test(arguments: Backend.allCases)
    func dueRetriesAreClaimedBeforeTheNextEvents(_ backend: Backend) async throws {
        let clock = TestClock("2026-11-23T10:00:00Z")
        try await Self.byHand(backend, clock: clock, events: 3) { env, id, pass in
            let claimed = try await pass([], 2)
            let events = try await env.get("/events?limit=100").list.filter { $0["type"] as? String == "customer.created" }
                .compactMap { $0["id"] as? String }.reversed()
            #expect(claimed.map(\.delivery.event.rawValue) == Array(events.prefix(2)), "in the order they happened")
            #expect(try await WebhookOutbox.dueEndpoints(now: clock.now(), limit: 10, engine: env.store.engine).map(\.1) == [id],
                    "the third waits in the stream")
            let failed = WebhookAttemptOutcome(statusCode: 500, latencyMs: 3, failure: nil, responseExcerpt: nil, retryAfterSeconds: nil)
            _ = try await pass([FinishedWebhookAttempt(claimed: claimed[0], outcome: failed, random: 0),
                                FinishedWebhookAttempt(claimed: claimed[1], outcome: Self.ok, random: 0)], 0)

            clock.set("2026-11-23T10:00:06Z")
            let next = try await pass([], 2)
            #expect(next.map(\.delivery.event.rawValue) == [claimed[0].delivery.event.rawValue, Array(events)[2]])
            #expect(next.map(\.hold) == [.row, .stream(size: 1)])
            #expect(Self.attempts(try #require(try await Self.deliveries(env, id.rawValue, status: "pending").first)).count == 1)
        }
    }

    /// An endpoint failing every attempt has its stream paused: its next events wait, unclaimed
    /// and counted in its backlog, while one at a time probes it at growing waits; its retries
    /// keep their schedule, and the first success resumes the stream where it stopped.
    @Test(arguments: Backend.allCases)
    func aFailingEndpointsStreamPausesAndIsProbedUntilItAnswers(_ backend: Backend) async throws {
        let clock = TestClock("2026-11-23T10:00:00Z")
        let threshold = Int(WebhookStreamHealth.pauseAfterFailures)
        try await Self.byHand(backend, clock: clock, events: threshold + 3) { env, id, pass in
            let events = Array(try await env.get("/events?limit=100").list.filter { $0["type"] as? String == "customer.created" }
                .compactMap { $0["id"] as? String }.reversed())
            let failed = WebhookAttemptOutcome(statusCode: 500, latencyMs: 3, failure: nil, responseExcerpt: nil, retryAfterSeconds: nil)
            func failing(_ claimed: [ClaimedWebhookDelivery]) -> [FinishedWebhookAttempt] {
                claimed.map { FinishedWebhookAttempt(claimed: $0, outcome: failed, random: 0) }
            }
            func due() async throws -> [WebhookEndpointID] {
                try await WebhookOutbox.dueEndpoints(now: clock.now(), limit: 10, engine: env.store.engine).map(\.1)
            }
            _ = try await pass(failing(try await pass([], threshold)), 0)
            #expect(try await due().isEmpty, "paused: its next events wait")
            #expect(try await pass([], threshold).isEmpty)
            let paused = try #require(try await WebhookOutbox.backlog(engine: env.store.engine)[id])
            #expect(paused.paused && paused.deliveries == Int64(threshold + 3), "the retries and the events waiting")

            clock.set("2026-11-23T10:00:06Z")
            #expect(try await due() == [id])
            let probed = try await pass([], 2 * threshold)
            #expect(probed.filter { $0.hold == .row }.count == threshold, "the retries keep their schedule")
            #expect(probed.filter { $0.hold != .row }.map(\.delivery.event.rawValue) == [events[threshold]], "one event probes, in order")
            _ = try await pass(failing(probed), 0)

            // Failing for 6 s: the next probe waits 6 s. The failed probe's own retry is due
            // first, on its schedule (5 s less the jitter of `random: 0`), and is left in flight.
            clock.set("2026-11-23T10:00:11Z")
            let retried = try await pass([], threshold)
            #expect(retried.map(\.hold) == [.row] && retried.map(\.delivery.event.rawValue) == [events[threshold]], "the stream stays paused")
            clock.set("2026-11-23T10:00:12Z")
            let probe = try await pass([], threshold)
            #expect(probe.map(\.delivery.event.rawValue) == [events[threshold + 1]] && probe.map(\.hold) == [.stream(size: 1)])
            _ = try await pass(probe.map { FinishedWebhookAttempt(claimed: $0, outcome: Self.ok, random: 0) }, 0)
            #expect(try await due() == [id], "resumed")
            #expect(try await pass([], threshold).map(\.delivery.event.rawValue) == [events[threshold + 2]])
            #expect(try await WebhookOutbox.backlog(engine: env.store.engine)[id]?.paused == false)
        }
    }

    /// Disabled before its stream reached some events (a backlog, a paused stream), an endpoint is
    /// still sent them once enabled again, then what happens from then on: never what happened
    /// while it was disabled.
    @Test(arguments: Backend.allCases)
    func eventsOwedWhenDisabledAreSentOnceEnabledAndNothingOfWhileDisabled(_ backend: Backend) async throws {
        let clock = TestClock("2026-11-23T10:00:00Z")
        try await Self.byHand(backend, clock: clock, events: 4) { env, id, pass in
            func succeeding(_ claimed: [ClaimedWebhookDelivery]) -> [FinishedWebhookAttempt] {
                claimed.map { FinishedWebhookAttempt(claimed: $0, outcome: Self.ok, random: 0) }
            }
            _ = try await pass(succeeding(try await pass([], 1)), 0)
            #expect(try await env.post("/webhook-endpoints/\(id)/disable").status == .ok)
            for _ in 0..<2 { _ = try await env.createCustomer() }
            #expect(try await WebhookOutbox.backlog(engine: env.store.engine)[id]?.deliveries == 3, "the three owed, not those of now")
            #expect(try await env.post("/webhook-endpoints/\(id)/enable").status == .ok)
            _ = try await env.createCustomer()
            let events = Array(try await env.get("/events?limit=100").list.filter { $0["type"] as? String == "customer.created" }
                .compactMap { $0["id"] as? String }.reversed())
            #expect(try await WebhookOutbox.backlog(engine: env.store.engine)[id]?.deliveries == 5,
                    "the three owed, then the events since it was enabled (of any type: its `webhook_endpoint.enabled` too)")
            let owed = try await pass([], 10)
            #expect(owed.map(\.delivery.event.rawValue) == Array(events[1...3]))
            _ = try await pass(succeeding(owed), 0)
            #expect(try await pass([], 10).map(\.delivery.event.rawValue) == [events[6]], "then what happened since it was enabled")
        }
    }

    @Test(arguments: Backend.allCases)
    func claimsGivenBackOnShutdownAreDueAtOnceWithoutAnAttempt(_ backend: Backend) async throws {
        let clock = TestClock("2026-11-23T10:00:00Z")
        try await Self.byHand(backend, clock: clock, events: 3) { env, id, pass in
            let claimed = try await pass([], 3)
            #expect(claimed.count == 3)
            #expect(try await WebhookOutbox.dueEndpoints(now: clock.now(), limit: 10, engine: env.store.engine).isEmpty, "claimed: leased")

            // One of the range was sent before the process stopped.
            try await WebhookDeliveryService.record(tenant: env.tenant, finished: [FinishedWebhookAttempt(claimed: claimed[0], outcome: Self.ok, random: 0)],
                                                    unsent: Array(claimed.dropFirst()), settings: Self.settings, store: env.store)
            #expect(try await Self.deliveries(env, id.rawValue, status: "succeeded").compactMap { $0["id"] as? String } == [claimed[0].delivery.id.rawValue])
            #expect(try await WebhookOutbox.dueEndpoints(now: clock.now(), limit: 10, engine: env.store.engine).map(\.1) == [id])
            let again = try await pass([], 3)
            #expect(Set(again.map(\.delivery.id)) == Set(claimed.dropFirst().map(\.delivery.id)))
            #expect(again.allSatisfy { $0.delivery.attempts.isEmpty && $0.hold == .row }, "a claim given back is not an interrupted attempt")
        }
    }

    @Test(arguments: Backend.allCases)
    func failuresAreRetriedOnTheScheduleHonouringRetryAfter(_ backend: Backend) async throws {
        let receiver = WebhookReceiver()
        receiver.script("/flaky", .init(status: .internalServerError, body: "database down"),
                        .init(status: .serviceUnavailable, headers: ["Retry-After": "120"]), .init(status: .noContent, body: ""))
        let clock = TestClock("2026-11-23T10:00:00Z")
        try await receiver.run { port in
            try await TestEnvironment.run(backend, clock: clock, configure: Self.configure) { env in
                let endpoint = try await Self.createEndpoint(env, url: "http://127.0.0.1:\(port)/flaky")
                _ = try await env.createCustomer()
                func delivery() async throws -> [String: Any] { try await Self.deliveries(env, endpoint.id).first ?? [:] }
                try await Self.eventually("the first attempt fails") { Self.attempts(try await delivery()).count == 1 }
                var pending = try await delivery()
                #expect(pending["status"] as? String == "pending")
                let first = try #require(Self.attempts(pending).first)
                #expect(first["status_code"] as? Int == 500 && first["error"] as? String == "http_500")
                #expect(first["response_excerpt"] as? String == "database down")
                // 5 s ± 10% after the failure.
                let next = try #require(Timestamp(rfc3339: pending["next_attempt_at"] as? String ?? ""))
                let base = Timestamp(rfc3339: "2026-11-23T10:00:00Z")!.microseconds
                #expect((base + 4_500_000...base + 5_500_000).contains(next.microseconds), "\(next)")

                clock.set("2026-11-23T10:00:06Z")
                try await Self.eventually("the second attempt fails") { Self.attempts(try await delivery()).count == 2 }
                pending = try await delivery()
                #expect(Self.attempts(pending)[1]["status_code"] as? Int == 503)
                // The schedule says a minute; the receiver asked for two.
                let after = try #require(Timestamp(rfc3339: pending["next_attempt_at"] as? String ?? ""))
                #expect(after >= Timestamp(rfc3339: "2026-11-23T10:02:06Z")!, "\(after)")

                clock.set("2026-11-23T10:01:30Z")
                #expect(try await WebhookOutbox.dueEndpoints(now: clock.now(), limit: 10, engine: env.store.engine).isEmpty,
                        "not due before Retry-After")
                clock.set("2026-11-23T10:02:07Z")
                try await Self.eventually("the third attempt succeeds") { try await delivery()["status"] as? String == "succeeded" }
                let calls = receiver.calls(to: "/flaky")
                #expect(calls.count == 3 && Set(calls.map(\.id)).count == 1, "every retry carries the same webhook-id")
                #expect(Self.attempts(try await Self.deliveries(env, endpoint.id)[0]).map { $0["status_code"] as? Int } == [500, 503, 204])
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func goneOrASpentScheduleDisablesTheEndpoint(_ backend: Backend) async throws {
        let receiver = WebhookReceiver()
        receiver.script("/gone", .init(status: .gone))
        receiver.script("/down", .init(status: .badGateway))
        let clock = TestClock("2026-11-23T10:00:00Z")
        try await receiver.run { port in
            try await TestEnvironment.run(backend, clock: clock, configure: Self.configure) { env in
                let gone = try await Self.createEndpoint(env, url: "http://127.0.0.1:\(port)/gone")
                let down = try await Self.createEndpoint(env, url: "http://127.0.0.1:\(port)/down")
                let watcher = try await Self.createEndpoint(env, url: "http://127.0.0.1:\(port)/watch", types: ["webhook_endpoint.disabled"])
                _ = try await env.createCustomer()
                try await Self.eventually("410 disables its endpoint") {
                    try await env.get("/webhook-endpoints/\(gone.id)").json["status"] as? String == "disabled"
                }
                func attempts() async throws -> Int { Self.attempts(try await Self.deliveries(env, down.id).first ?? [:]).count }
                try await Self.eventually("the failing endpoint's first attempt is recorded") { try await attempts() == 1 }
                clock.set("2026-11-23T10:00:10Z")
                try await Self.eventually("the second attempt is recorded") { try await attempts() == 2 }
                clock.set("2026-11-23T10:02:00Z")
                try await Self.eventually("the spent schedule disables the endpoint") {
                    try await env.get("/webhook-endpoints/\(down.id)").json["status"] as? String == "disabled"
                }
                try await Self.eventually("both disablings are delivered") {
                    try await Self.deliveries(env, watcher.id, status: "succeeded").count == 2
                }
                #expect(receiver.calls(to: "/gone").count == 1, "410 is not retried")
                #expect(receiver.calls(to: "/down").count == 3, "the whole schedule: one attempt and two retries")
                #expect(try await env.get("/webhook-endpoints/\(gone.id)").json["disabled_reason"] as? String == "gone")
                #expect(try await env.get("/webhook-endpoints/\(down.id)").json["disabled_reason"] as? String == "failing")
                #expect(try await Self.deliveries(env, down.id, status: "failed").count == 1)
                #expect(try await Self.deliveries(env, gone.id, status: "failed").count == 1)
                let disabled = try await env.get("/events?type=webhook_endpoint.disabled").list
                #expect(Set(disabled.compactMap { ($0["data"] as? [String: Any])?["object"] as? [String: Any] }.compactMap { $0["id"] as? String })
                        == [gone.id, down.id])
                #expect(receiver.calls(to: "/watch").count == 2)
                // Enabled again, an endpoint is clean and gets new events.
                let enabled = try await env.post("/webhook-endpoints/\(gone.id)/enable")
                #expect(enabled.json["status"] as? String == "enabled" && enabled.json["disabled_reason"] == nil)
            }
        }
    }

    /// An endpoint that does not answer holds its own sends in flight (no more than its concurrency)
    /// and nobody else's. Its calls are held by the receiver until the test releases them, so what
    /// is asserted does not depend on how fast the machine is.
    @Test(arguments: Backend.allCases)
    func aSlowEndpointHoldsOnlyItsOwnSendsInFlight(_ backend: Backend) async throws {
        let receiver = WebhookReceiver()
        receiver.script("/slow", .init(held: true))
        try await receiver.run { port in
            try await TestEnvironment.run(backend, configure: {
                Self.configure(&$0)
                $0.webhookDelivery.timeoutMs = 60_000
                $0.webhookDelivery.concurrency = 2
            }) { env in
                let slow = try await Self.createEndpoint(env, url: "http://127.0.0.1:\(port)/slow")
                let fast = try await Self.createEndpoint(env, url: "http://127.0.0.1:\(port)/fast")
                for _ in 0..<8 { _ = try await env.createCustomer() }
                try await Self.eventually("every event reaches the fast endpoint") {
                    try await Self.deliveries(env, fast.id, status: "succeeded").count == 8
                }
                try await Self.eventually("the slow endpoint has its two sends in flight") { receiver.calls(to: "/slow").count == 2 }
                #expect(receiver.calls(to: "/slow").count == 2, "no third send while two are unanswered")
                #expect(try await Self.deliveries(env, slow.id).allSatisfy { Self.attempts($0).isEmpty })
                receiver.release("/slow")
                try await Self.eventually("the slow endpoint catches up") {
                    try await Self.deliveries(env, slow.id, status: "succeeded").count == 8
                }
                #expect(receiver.calls(to: "/slow").count == 8, "each delivered once")
            }
        }
    }

    /// Where the process's limit of sends in flight is short of what its endpoints could have, it
    /// is shared evenly: the first endpoint found due does not take it all.
    @Test(arguments: Backend.allCases)
    func theProcessLimitIsSharedEvenlyAmongEndpoints(_ backend: Backend) async throws {
        let receiver = WebhookReceiver()
        receiver.script("/a", .init(held: true))
        receiver.script("/b", .init(held: true))
        try await receiver.run { port in
            try await TestEnvironment.run(backend, configure: {
                Self.configure(&$0)
                $0.webhookDelivery.timeoutMs = 60_000
                $0.webhookDelivery.concurrency = 4
                $0.webhookDelivery.inFlight_max = 4
            }) { env in
                let a = try await Self.createEndpoint(env, url: "http://127.0.0.1:\(port)/a")
                let b = try await Self.createEndpoint(env, url: "http://127.0.0.1:\(port)/b")
                for _ in 0..<6 { _ = try await env.createCustomer() }
                try await Self.eventually("the process has its four sends in flight") {
                    receiver.calls(to: "/a").count + receiver.calls(to: "/b").count == 4
                }
                #expect(receiver.calls(to: "/a").count == 2 && receiver.calls(to: "/b").count == 2, "two each, not four to one")
                receiver.release("/a")
                receiver.release("/b")
                try await Self.eventually("both catch up") {
                    let (toA, toB) = (try await Self.deliveries(env, a.id, status: "succeeded"), try await Self.deliveries(env, b.id, status: "succeeded"))
                    return toA.count == 6 && toB.count == 6
                }
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func aSendThatOutlivesItsTimeoutIsRecordedAsATimeout(_ backend: Backend) async throws {
        let receiver = WebhookReceiver()
        receiver.script("/slow", .init(held: true))
        try await receiver.run { port in
            try await TestEnvironment.run(backend, configure: {
                Self.configure(&$0)
                $0.webhookDelivery.timeoutMs = 500
            }) { env in
                let slow = try await Self.createEndpoint(env, url: "http://127.0.0.1:\(port)/slow")
                _ = try await env.createCustomer()
                try await Self.eventually("the first attempt is recorded") {
                    try await Self.deliveries(env, slow.id).contains { !Self.attempts($0).isEmpty }
                }
                let attempt = try #require(try await Self.deliveries(env, slow.id).first.flatMap { Self.attempts($0).first })
                #expect(attempt["error"] as? String == "timeout" && attempt["status_code"] == nil, "\(attempt)")
                #expect((attempt["latency_ms"] as? Int).map { $0 >= 490 } == true, "it waited for its timeout: \(attempt)")
                receiver.release("/slow")
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func redeliveryReplaysTheSameEventAndNothingElse(_ backend: Backend) async throws {
        let receiver = WebhookReceiver()
        try await receiver.run { port in
            try await TestEnvironment.run(backend, configure: Self.configure) { env in
                let endpoint = try await Self.createEndpoint(env, url: "http://127.0.0.1:\(port)/hooks")
                let unsubscribed = try await Self.createEndpoint(env, url: "http://127.0.0.1:\(port)/accounts", types: ["account.*"])
                _ = try await env.createCustomer()
                let operatorKey = try await env.createKey(role: "operator")
                try await Self.eventually("the first delivery") { receiver.calls(to: "/hooks").count == 1 }
                let first = try #require(receiver.calls(to: "/hooks").first)
                let before = try await env.footprint()
                let redelivered = try await env.post("/events/\(first.id)/redeliver", key: operatorKey)
                #expect(redelivered.status == .accepted, "\(redelivered.text)")
                #expect(redelivered.list.count == 1 && redelivered.list.first?["redelivery"] as? Bool == true)
                try await Self.eventually("the redelivery is recorded") {
                    try await Self.deliveries(env, endpoint.id, status: "succeeded").count == 2
                }
                let second = receiver.calls(to: "/hooks")[1]
                #expect(second.id == first.id && second.body == first.body, "same webhook-id, same body")
                var after = try await env.footprint()
                #expect(after["audit_log"] == before["audit_log"]! + 1, "the redelivery is audited")
                after["audit_log"] = before["audit_log"]
                #expect(after == before, "a redelivery creates no event and no financial state")

                let named = try await env.post("/events/\(first.id)/redeliver", #"{"webhook_endpoint": "\#(unsubscribed.id)"}"#)
                #expect(named.status == .conflict && named.errorCode == "webhook_endpoint_not_subscribed")
                _ = try await env.post("/webhook-endpoints/\(endpoint.id)/disable")
                let disabled = try await env.post("/events/\(first.id)/redeliver", #"{"webhook_endpoint": "\#(endpoint.id)"}"#)
                #expect(disabled.status == .conflict && disabled.errorCode == "webhook_endpoint_disabled")
                let nowhere = try await env.post("/events/\(first.id)/redeliver")
                #expect(nowhere.status == .conflict && nowhere.errorCode == "no_webhook_endpoint", "\(nowhere.text)")
                #expect(try await env.post("/events/evt_missing/redeliver").status == .notFound)
                #expect(try await env.post("/events/\(first.id)/redeliver", key: try await env.createKey(role: "developer")).status == .forbidden)
                let stored = try await Self.deliveries(env, endpoint.id)
                #expect(stored.count == 2 && stored.allSatisfy { $0["status"] as? String == "succeeded" })
            }
        }
    }

    /// A worker reads and renders an event once for all its endpoints: a body found again comes
    /// from what it kept (here the event's row is gone, and the body still is), and what it keeps
    /// stays within its bound, the oldest dropped first.
    @Test(arguments: Backend.allCases)
    func eventBodiesAreReadOnceAndKeptWithinTheirBound(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend, configure: { Self.configure(&$0); $0.webhookDelivery.inFlight_max = 0 }) { env in
            for _ in 0..<4 { _ = try await env.createCustomer() }
            let ids = try await env.store.read(tenant: env.tenant) { try await $0.events.list(PageRequest(limit: 4)).data.map(\.id) }
            let stored = try await env.store.read(tenant: env.tenant) { try await $0.events.findAll(ids) }
            let smallest = try #require(stored.values.map(\.serialized.count).min())
            // A generation holds one body.
            let bodies = EventBodies(bytes_max: 2 * smallest)
            for id in ids.prefix(2) {
                #expect(try await bodies.find([id], tenant: env.tenant, store: env.store)[id]?.bytes == stored[id]?.serialized)
            }
            try await env.store.engine.withTransaction { sql in
                try await sql.execute("DELETE FROM events WHERE tenant_id = \(env.tenant) AND id IN (\(ids[0]), \(ids[1]))")
            }
            let kept = try await bodies.find([ids[0], ids[1]], tenant: env.tenant, store: env.store)
            #expect(kept[ids[0]]?.bytes == stored[ids[0]]?.serialized && kept[ids[1]]?.bytes == stored[ids[1]]?.serialized,
                    "found again without a read")
            #expect(kept[ids[1]]?.createdAt == stored[ids[1]]?.createdAt)
            // Two more bodies, and the generations that held the first two are gone.
            _ = try await bodies.find([ids[2]], tenant: env.tenant, store: env.store)
            #expect(try await bodies.find([ids[3]], tenant: env.tenant, store: env.store)[ids[3]] != nil)
            #expect(try await bodies.find([ids[0], ids[1]], tenant: env.tenant, store: env.store).isEmpty, "the oldest are no longer kept")
            #expect(try await bodies.find([ids[3]], tenant: TenantID(unchecked: "ten_other"), store: env.store).isEmpty, "kept per tenant")
        }
    }

    @Test(arguments: Backend.allCases)
    func aRotatedSecretSignsBesideTheOldOneDuringItsGracePeriod(_ backend: Backend) async throws {
        let receiver = WebhookReceiver()
        try await receiver.run { port in
            try await TestEnvironment.run(backend, configure: Self.configure) { env in
                let endpoint = try await Self.createEndpoint(env, url: "http://127.0.0.1:\(port)/hooks")
                let rotated = try await env.post("/webhook-endpoints/\(endpoint.id)/rotate-secret", #"{"grace_period_seconds": 3600}"#)
                let newSecret = try #require(rotated.json["secret"] as? String)
                _ = try await env.createCustomer()
                try await Self.eventually("the delivery") { !receiver.calls(to: "/hooks").isEmpty }
                let call = try #require(receiver.calls(to: "/hooks").first)
                let signatures = call.signature.split(separator: " ").map(String.init)
                #expect(signatures == [newSecret, endpoint.secret].map {
                    WebhookSignature.sign(secret: $0, messageID: call.id, timestampSeconds: call.timestamp, body: call.body)!
                })
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func numericHostsAreCheckedAsTheAddressTheyName(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend, configure: { Self.configure(&$0); $0.outboundURLPolicy = OutboundURLPolicy() }) { env in
            // Each spells 127.0.0.1; resolvers accept them all, so the policy must see the address, not the text.
            for host in ["127.1", "2130706433", "0x7f000001", "0177.0.0.1", "127.0.0.1."] {
                let reply = try await env.post("/webhook-endpoints", #"{"url": "http://\#(host):8080/hooks", "event_types": ["*"]}"#)
                #expect(reply.status == .badRequest, "\(host): \(reply.text)")
                #expect(reply.errorCode == "parameter_invalid", "\(host)")
            }
            #expect(try await env.get("/webhook-endpoints").list.isEmpty)
            let public_ = try await env.post("/webhook-endpoints", #"{"url": "https://134744072/hooks", "event_types": ["*"]}"#)
            #expect(public_.status == .created)
            #expect(public_.json["url"] as? String == "https://8.8.8.8/hooks", "stored in canonical form")
        }
    }

    @Test(arguments: Backend.allCases)
    func twoProcessesDeliverEachEventOnceAndTakeOverAStoppedOnesClaims(_ backend: Backend) async throws {
        let receiver = WebhookReceiver()
        let clock = TestClock("2026-11-23T10:00:00Z")
        try await receiver.run { port in
            // The application's own worker claims nothing, so that the test's claim and the two
            // workers below (two processes) are the only senders, whenever the worker first runs.
            try await TestEnvironment.run(backend, clock: clock, configure: { Self.configure(&$0); $0.webhookDelivery.inFlight_max = 0 }) { env in
                let endpoints = [
                    try await Self.createEndpoint(env, url: "http://127.0.0.1:\(port)/a"),
                    try await Self.createEndpoint(env, url: "http://127.0.0.1:\(port)/b"),
                ]
                for _ in 0..<30 { _ = try await env.createCustomer() }
                // A process claims one delivery and stops before sending it.
                let first = try #require(WebhookEndpointID(endpoints[0].id))
                let claimed = try await WebhookDeliveryService.claim(
                    tenant: env.tenant, claims: [(first, 1)], settings: Self.settings,
                    vault: CardVault(key: env.services.configuration.cardDataKey), bodies: EventBodies(), store: env.store)
                let orphan = try #require(claimed.first)
                try await Self.withMoreWorkers(env, count: 2) {
                    // Recorded, not only received: past the lease below, a claim still open would be taken over.
                    try await Self.eventually("all but the orphan are delivered and recorded") {
                        try await Self.deliveries(env, endpoints[0].id, status: "succeeded").count
                            + Self.deliveries(env, endpoints[1].id, status: "succeeded").count == 59
                    }
                    #expect(try await WebhookOutbox.dueEndpoints(now: clock.now(), limit: 10, engine: env.store.engine).isEmpty,
                            "the orphan waits for its lease")
                    #expect(receiver.calls.withLock { $0.count } == 59)
                    clock.set("2026-11-23T10:02:00Z")
                    try await Self.eventually("the orphan is taken over and recorded") {
                        try await Self.deliveries(env, endpoints[0].id, status: "succeeded").count == 30
                    }
                }
                for path in ["/a", "/b"] {
                    let ids = receiver.calls(to: path).map(\.id)
                    #expect(ids.count == 30 && Set(ids).count == 30, "each event once per endpoint")
                }
                let taken = try await Self.deliveries(env, endpoints[0].id).first { $0["event"] as? String == orphan.delivery.event.rawValue }
                #expect(Self.attempts(try #require(taken)).map { $0["error"] as? String } == ["interrupted", nil])
            }
        }
    }
}
