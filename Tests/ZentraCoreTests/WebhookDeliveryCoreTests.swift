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
}
