import Foundation
import Testing
@testable import ZentraCore

@Suite struct WebhookDeliveryCoreTests {
    let now = Timestamp(rfc3339: "2026-11-23T10:00:00Z")!

    func outcome(_ status: Int?, failure: String? = nil, retryAfter: Int64? = nil) -> WebhookAttemptOutcome {
        WebhookAttemptOutcome(statusCode: status, latencyMs: 5, failure: failure, responseExcerpt: nil, retryAfterSeconds: retryAfter)
    }

    @Test func theDefaultScheduleIsTheContracts() throws {
        #expect(WebhookRetrySchedule.default.delaysSeconds == [5, 300, 1800, 7200, 18_000, 36_000, 36_000])
        #expect(WebhookRetrySchedule.default.attempts_max == 8)
        #expect(try WebhookRetrySchedule(parsing: " 250ms, 2s ,3m,1h,1d").delaysSeconds == [1, 2, 180, 3600, 86_400])
        #expect(try WebhookRetrySchedule(parsing: "").attempts_max == 1)
        for bad in ["5", "5x", "-5s", "s", "1.5s", "31d", "9999999999s"] {
            #expect(throws: DomainError.self, "\(bad)") { try WebhookRetrySchedule(parsing: bad) }
        }
    }

    @Test func retriesFollowTheScheduleWithinTenPercentJitterAndStopWhenItIsSpent() throws {
        let schedule = try WebhookRetrySchedule(parsing: "10s,1h")
        var generator = SystemRandomNumberGenerator()
        var seen = Set<Int64>()
        for _ in 0..<2_000 {
            let random = generator.next()
            let first = try #require(schedule.nextAttempt(after: 1, at: now, retryAfterSeconds: nil, random: random))
            #expect((9_000_000...11_000_000).contains(first.microseconds - now.microseconds))
            let second = try #require(schedule.nextAttempt(after: 2, at: now, retryAfterSeconds: nil, random: random))
            #expect((3_240_000_000...3_960_000_000).contains(second.microseconds - now.microseconds))
            #expect(schedule.nextAttempt(after: 3, at: now, retryAfterSeconds: nil, random: random) == nil)
            seen.insert(first.microseconds)
        }
        #expect(seen.count > 1_000, "the jitter spreads attempts out")
        #expect(schedule.nextAttempt(after: 1, at: now, retryAfterSeconds: nil, random: 42)
                == schedule.nextAttempt(after: 1, at: now, retryAfterSeconds: nil, random: 42), "the same random value, the same time")
    }

    @Test func retryAfterIsNeverUndercutAndIsCapped() throws {
        let schedule = try WebhookRetrySchedule(parsing: "10s")
        let later = try #require(schedule.nextAttempt(after: 1, at: now, retryAfterSeconds: 600, random: 0))
        #expect(later == now.adding(seconds: 600))
        let sooner = try #require(schedule.nextAttempt(after: 1, at: now, retryAfterSeconds: 1, random: 0))
        #expect(sooner.microseconds - now.microseconds >= 9_000_000, "a shorter Retry-After does not speed up the schedule")
        let capped = try #require(schedule.nextAttempt(after: 1, at: now, retryAfterSeconds: 10 * 86_400, random: 0))
        #expect(capped == now.adding(seconds: WebhookRetrySchedule.retryAfterSeconds_max))
    }

    @Test func retryAfterReadsSecondsAndHTTPDates() {
        #expect(RetryAfter.seconds("120", now: now) == 120)
        #expect(RetryAfter.seconds(" 0 ", now: now) == 0)
        #expect(RetryAfter.seconds("Mon, 23 Nov 2026 10:05:00 GMT", now: now) == 300)
        #expect(RetryAfter.seconds("Sun, 22 Nov 2026 10:05:00 GMT", now: now) == 0, "a date in the past means now")
        for bad in ["", "-1", "soon", "Mon, 23 Nov 2026 10:05:00 PST", "Mon, 32 Nov 2026 10:05:00 GMT", "Mon, 23 Foo 2026 10:05:00 GMT"] {
            #expect(RetryAfter.seconds(bad, now: now) == nil, "\(bad)")
        }
    }

    @Test func eachOutcomeLeadsToItsStep() throws {
        let schedule = try WebhookRetrySchedule(parsing: "5s")
        func step(_ outcome: WebhookAttemptOutcome, attempts: Int = 1) -> WebhookDeliveryStep {
            WebhookDeliveryStep.after(outcome, attemptsMade: attempts, schedule: schedule, now: now, random: 0)
        }
        for status in [200, 201, 204, 299] { #expect(step(outcome(status)) == .succeeded) }
        #expect(step(outcome(410)) == .gone)
        #expect(step(outcome(410), attempts: 2) == .gone)
        for status in [301, 400, 404, 429, 500, 503] {
            guard case .retry = step(outcome(status)) else { Issue.record("\(status) is retried"); continue }
            #expect(step(outcome(status), attempts: 2) == .exhausted)
        }
        for failure in ["timeout", "connection_failed", "destination_refused", "interrupted"] {
            guard case .retry = step(outcome(nil, failure: failure)) else { Issue.record("\(failure) is retried"); continue }
        }
        #expect(outcome(500).error == "http_500" && outcome(nil, failure: "timeout").error == "timeout" && outcome(204).error == nil)
    }

    @Test func destinationsAreJudgedByAddress() throws {
        let closed = OutboundURLPolicy()
        for address in ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "::1", "[::1]",
                        "fe80::1", "fd00::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::", "not-an-address", ""] {
            #expect(!closed.permits(address: address), "\(address)")
        }
        for address in ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8"] {
            #expect(closed.permits(address: address), "\(address)")
        }
        let loopback = try OutboundURLPolicy(allowedNetworksList: "127.0.0.0/8")
        #expect(loopback.permits(address: "127.0.0.1") && loopback.permits(address: "::1") && loopback.permits(address: "::ffff:127.0.0.2"))
        #expect(!loopback.permits(address: "10.0.0.1") && !loopback.permits(address: "fd00::1"))
        #expect(throws: DomainError.self) { try closed.validate("http://[::1]:8080/hook", param: "url") }
        #expect(throws: DomainError.self) { try closed.validate("http://localhost/hook", param: "url") }
        #expect(try loopback.validate("http://[::1]:8080/hook", param: "url") == "http://[::1]:8080/hook")
    }

    /// Events and deliveries write themselves; `Codable` encodes the same bytes and reads them back whole.
    @Test func writtenEventsAndDeliveriesMatchTheirCodableForm() throws {
        var rng = SeededGenerator(state: 0x5745_4248)
        let texts = [nil, "", "quote \" and \\ slash / tab \t", "é ünïcödé ✓ 💳", "\u{01}\u{1F}"]
        for index in 0..<300 {
            let event = Event(id: EventID(unchecked: "evt_\(index)"), type: "authorization.approved", sequence: Int64(index),
                              object: JSONParserTests.randomValue(&rng), requestID: texts.randomElement(using: &rng)!,
                              createdAt: now.adding(seconds: Int64(index)))
            #expect(event.serialized == Array(try ZentraJSON.encoder().encode(event)), "event \(index)")
            #expect(try ZentraJSON.decoder().decode(Event.self, from: Data(event.serialized)).serialized == event.serialized, "event \(index) read back")

            var delivery = WebhookDelivery(id: WebhookDeliveryID(unchecked: "msg_\(index)"), webhookEndpoint: WebhookEndpointID(unchecked: "we_1"),
                                           event: event.id, eventType: event.type, redelivery: Bool.random(using: &rng), createdAt: now)
            delivery.nextAttemptAt = Bool.random(using: &rng) ? nil : now.adding(seconds: 5)
            delivery.status = WebhookDelivery.Status.allCases.randomElement(using: &rng)!
            delivery.attempts = (0..<Int.random(in: 0..<3, using: &rng)).map { number in
                WebhookAttempt(number: number + 1, attemptedAt: now, result: Bool.random(using: &rng) ? .succeeded : .failed,
                               statusCode: Bool.random(using: &rng) ? 500 : nil, latencyMs: Int.random(in: 0..<10_000, using: &rng),
                               error: texts.randomElement(using: &rng)!, responseExcerpt: texts.randomElement(using: &rng)!)
            }
            #expect(delivery.serialized == Array(try ZentraJSON.encoder().encode(delivery)), "delivery \(index)")
            #expect(try ZentraJSON.decoder().decode(WebhookDelivery.self, from: Data(delivery.serialized)) == delivery, "delivery \(index) read back")
        }
    }

    /// A stream pauses after the threshold of failures in a row, probes at waits that double from
    /// 5 s up to a minute, and any success resumes it; a success among failures keeps it running.
    @Test func aFailingStreamPausesProbesAtGrowingWaitsAndResumesOnSuccess() {
        let threshold = Int(WebhookStreamHealth.pauseAfterFailures)
        var health = WebhookStreamHealth.healthy.recorded(succeeded: 0, failed: threshold - 1, retryAfterSeconds: nil, now: now)
        #expect(health.pausedUntil == nil && health.streamLimit(32, now: now) == 32, "below the threshold the stream runs")
        #expect(health.recorded(succeeded: 1, failed: 5, retryAfterSeconds: nil, now: now) == .healthy, "one success among failures")

        health = health.recorded(succeeded: 0, failed: 1, retryAfterSeconds: nil, now: now)
        #expect(health.pausedUntil == now.adding(seconds: 5) && health.failingSince == now)
        #expect(health.streamLimit(32, now: now.adding(seconds: 4)) == 0, "paused")
        #expect(health.streamLimit(32, now: now.adding(seconds: 5)) == 1, "one probe once the pause passed")

        // Each failed probe waits as long as the endpoint has been failing, within 5 s and a minute.
        var waits: [Int64] = []
        var clock = now.adding(seconds: 5)
        for _ in 0..<6 {
            let probing = health.probing(for: 11, now: clock)
            #expect(probing.streamLimit(32, now: clock.adding(seconds: 10)) == 0, "no second probe while one is out")
            health = probing.recorded(succeeded: 0, failed: 1, retryAfterSeconds: nil, now: clock)
            let until = try! #require(health.pausedUntil)
            waits.append((until.microseconds - clock.microseconds) / 1_000_000)
            clock = until
        }
        #expect(waits == [5, 10, 20, 40, 60, 60])
        #expect(health.failures == Int64(threshold) + 6 && health.failingSince == now)
        #expect(health.recorded(succeeded: 1, failed: 0, retryAfterSeconds: nil, now: clock) == .healthy)
    }

    @Test func retryAfterPausesTheStreamAsAskedWithinTheCap() {
        let asked = WebhookStreamHealth.healthy.recorded(succeeded: 0, failed: 1, retryAfterSeconds: 120, now: now)
        #expect(asked.pausedUntil == now.adding(seconds: 120), "below the threshold, as the receiver asked")
        #expect(asked.streamLimit(8, now: now.adding(seconds: 120)) == 1, "then probed")
        let capped = WebhookStreamHealth.healthy.recorded(succeeded: 0, failed: 1, retryAfterSeconds: 10 * 86_400, now: now)
        #expect(capped.pausedUntil == now.adding(seconds: WebhookRetrySchedule.retryAfterSeconds_max))
        let longer = WebhookStreamHealth.healthy.recorded(succeeded: 0, failed: 20, retryAfterSeconds: 1, now: now)
        #expect(longer.pausedUntil == now.adding(seconds: WebhookStreamHealth.probeWaitSeconds_min), "never shorter than the probe wait")
        #expect(WebhookStreamHealth.healthy.recorded(succeeded: 0, failed: 0, retryAfterSeconds: nil, now: now) == .healthy)
    }

    /// Disabled at event 10 with the stream at 4, then enabled at 20: events 5 to 10 are owed and go
    /// out first, then the stream goes on after 20; 11 to 20 happened while it was disabled.
    @Test func aStreamOwesWhatItHadNotReachedWhenDisabled() {
        let disabled = WebhookStream(position: 4).disabled(head: 10)
        #expect(disabled.unreached(head: 15, enabled: false) == 6, "while disabled, only what it owes")
        let enabled = disabled.enabled(head: 20)
        #expect(enabled == WebhookStream(position: 4, owedThrough: 10, resumeAfter: 20))
        #expect(enabled.end(head: 25) == 10 && enabled.unreached(head: 25, enabled: true) == 6 + 5)
        let partway = enabled.handedOut(through: 7)
        #expect(partway.position == 7 && partway.owedThrough == 10)
        #expect(partway.handedOut(through: 10) == WebhookStream(position: 20), "past what was owed, after the time it was disabled")
        #expect(WebhookStream(position: 10).disabled(head: 10).enabled(head: 20) == WebhookStream(position: 20), "nothing owed: from now on")
        let failing = WebhookStream(position: 4, health: WebhookStreamHealth(failures: 12, failingSince: now, pausedUntil: now))
        #expect(failing.disabled(head: 10).enabled(head: 20).health == .healthy, "enabled again, not paused for before")
        // Disabled again before it caught up: everything up to then is owed rather than lost.
        #expect(partway.disabled(head: 30).enabled(head: 40) == WebhookStream(position: 7, owedThrough: 30, resumeAfter: 40))
    }
}
