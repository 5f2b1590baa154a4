public enum WebhookDeliveryKind: IdentifierKind { public static let prefix = "msg_" }
public typealias WebhookDeliveryID = ID<WebhookDeliveryKind>

/// One event on its way to one endpoint, with every attempt made. The `webhook-id` header is the
/// event's id, so a receiver sees the same id on every retry and every redelivery.
public struct WebhookDelivery: Sendable, Hashable, Codable {
    public enum Status: String, Sendable, Codable, Hashable, CaseIterable {
        /// Waiting for its next attempt (or for its endpoint to be enabled again).
        case pending
        case succeeded
        /// Given up: the schedule ran out, or the endpoint answered 410 Gone.
        case failed
    }

    public let id: WebhookDeliveryID
    public let object: String
    public let webhookEndpoint: WebhookEndpointID
    public let event: EventID
    public let eventType: String
    /// Made by `POST /events/{id}/redeliver` rather than by the event itself.
    public let redelivery: Bool
    public var status: Status
    public var nextAttemptAt: Timestamp?
    public var attempts: [WebhookAttempt]
    public let createdAt: Timestamp
    public var updatedAt: Timestamp

    public init(id: WebhookDeliveryID, webhookEndpoint: WebhookEndpointID, event: EventID, eventType: String, redelivery: Bool,
                createdAt: Timestamp) {
        self.id = id
        self.object = ObjectType.webhookDelivery.rawValue
        self.webhookEndpoint = webhookEndpoint
        self.event = event
        self.eventType = eventType
        self.redelivery = redelivery
        self.status = .pending
        self.nextAttemptAt = createdAt
        self.attempts = []
        self.createdAt = createdAt
        self.updatedAt = createdAt
    }
}

/// One HTTP attempt as it was seen: the receiver's status (if it answered), how long it took, why
/// it failed, and the start of what it said.
public struct WebhookAttempt: Sendable, Hashable, Codable {
    public enum Result: String, Sendable, Codable, Hashable {
        case succeeded
        case failed
    }

    public let number: Int
    public let attemptedAt: Timestamp
    public let result: Result
    public let statusCode: Int?
    public let latencyMs: Int
    /// `http_<status>` or a `CallFailure`.
    public let error: String?
    public let responseExcerpt: String?

    public init(number: Int, attemptedAt: Timestamp, result: Result, statusCode: Int?, latencyMs: Int, error: String?,
                responseExcerpt: String?) {
        self.number = number
        self.attemptedAt = attemptedAt
        self.result = result
        self.statusCode = statusCode
        self.latencyMs = latencyMs
        self.error = error
        self.responseExcerpt = responseExcerpt
    }
}

/// What one attempt came to, as the sender saw it.
public struct WebhookAttemptOutcome: Sendable, Hashable {
    public let statusCode: Int?
    public let latencyMs: Int
    /// Set when the attempt failed before a status came back (timeout, refused, unreachable).
    public let failure: String?
    public let responseExcerpt: String?
    /// The receiver's `Retry-After`, in seconds from the answer.
    public let retryAfterSeconds: Int64?

    public init(statusCode: Int?, latencyMs: Int, failure: String?, responseExcerpt: String?, retryAfterSeconds: Int64?) {
        self.statusCode = statusCode
        self.latencyMs = latencyMs
        self.failure = failure
        self.responseExcerpt = responseExcerpt
        self.retryAfterSeconds = retryAfterSeconds
    }

    public var succeeded: Bool { failure == nil && statusCode.map { (200..<300).contains($0) } == true }
    /// `410 Gone`: the receiver says this endpoint no longer exists.
    public var gone: Bool { failure == nil && statusCode == 410 }
    public var error: String? { failure ?? (succeeded ? nil : statusCode.map(CallFailure.status)) }
}

/// When to try again: the delays after the first, second, … failed attempt
/// (`ZENTRA_WEBHOOK_RETRY_SCHEDULE`, default `5s,5m,30m,2h,5h,10h,10h`: eight attempts over about
/// 33 hours). Each delay gets up to ±10% jitter so that failures of many deliveries spread out, and
/// a receiver's `Retry-After` is honoured: the next attempt is never earlier than it asks.
public struct WebhookRetrySchedule: Sendable, Hashable {
    public static let `default` = try! WebhookRetrySchedule(parsing: "5s,5m,30m,2h,5h,10h,10h")
    /// The longest wait a `Retry-After` can impose.
    public static let retryAfterSeconds_max: Int64 = 86_400

    public let delaysSeconds: [Int64]

    public init(delaysSeconds: [Int64]) {
        self.delaysSeconds = delaysSeconds
    }

    /// Comma-separated durations, each a whole number with `ms`, `s`, `m`, `h` or `d`
    /// (milliseconds round up to a second). An empty list means one attempt and no retries.
    public init(parsing text: String) throws(DomainError) {
        var delays: [Int64] = []
        for raw in text.split(separator: ",") {
            let entry = raw.trimmingCharacters(in: .whitespaces)
            let digits = entry.prefix { $0.isASCII && $0.isNumber }
            let unit = entry.dropFirst(digits.count)
            let scale: (Int64) -> Int64? = switch unit {
            case "ms": { ($0 + 999) / 1000 }
            case "s": { $0 }
            case "m": { $0 * 60 }
            case "h": { $0 * 3600 }
            case "d": { $0 * 86_400 }
            default: { _ in nil }
            }
            guard !digits.isEmpty, digits.count <= 9, let value = Int64(digits), let seconds = scale(value), seconds <= 30 * 86_400 else {
                throw DomainError.invalidRequest("ZENTRA_WEBHOOK_RETRY_SCHEDULE: '\(entry)' is not a duration such as 5s, 5m, 2h or 1d (at most 30 days)")
            }
            delays.append(seconds)
        }
        self.init(delaysSeconds: delays)
    }

    public var attempts_max: Int { delaysSeconds.count + 1 }

    /// The time of the attempt after `attemptsMade` failed ones, or nil when the schedule is spent.
    /// `random` is any 64-bit value (the caller's generator), so the choice is replayable.
    public func nextAttempt(after attemptsMade: Int, at now: Timestamp, retryAfterSeconds: Int64?, random: UInt64) -> Timestamp? {
        guard attemptsMade >= 1, attemptsMade <= delaysSeconds.count else { return nil }
        let delayMicroseconds = delaysSeconds[attemptsMade - 1] * 1_000_000
        // Up to ±10% of the delay, in whole microseconds.
        let jitterMicroseconds = delayMicroseconds / 10 == 0
            ? 0 : Int64(random % UInt64(2 * (delayMicroseconds / 10) + 1)) - delayMicroseconds / 10
        var next = now.microseconds + delayMicroseconds + jitterMicroseconds
        if let retryAfter = retryAfterSeconds {
            next = max(next, now.microseconds + min(max(retryAfter, 0), Self.retryAfterSeconds_max) * 1_000_000)
        }
        return Timestamp(microseconds: next)
    }
}

/// What happens to a delivery after an attempt: the pure decision the delivery worker records.
public enum WebhookDeliveryStep: Sendable, Hashable {
    case succeeded
    case retry(at: Timestamp)
    /// The receiver answered 410 Gone: stop, and disable the endpoint.
    case gone
    /// The schedule is spent.
    case exhausted

    public static func after(_ outcome: WebhookAttemptOutcome, attemptsMade: Int, schedule: WebhookRetrySchedule, now: Timestamp,
                             random: UInt64) -> WebhookDeliveryStep {
        if outcome.succeeded { return .succeeded }
        if outcome.gone { return .gone }
        guard let next = schedule.nextAttempt(after: attemptsMade, at: now, retryAfterSeconds: outcome.retryAfterSeconds, random: random)
        else { return .exhausted }
        return .retry(at: next)
    }
}

/// `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an IMF-fixdate such as
/// `Sun, 06 Nov 1994 08:49:37 GMT`, as seconds from `now`; nil for anything else.
public enum RetryAfter {
    public static func seconds(_ value: String, now: Timestamp) -> Int64? {
        let text = value.trimmingCharacters(in: .whitespaces)
        if !text.isEmpty, text.count <= 12, text.allSatisfy({ $0.isASCII && $0.isNumber }) { return Int64(text) }
        let parts = text.split(separator: " ")
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        guard parts.count == 6, parts[0].hasSuffix(","), parts[5] == "GMT", let day = Int64(parts[1]),
            let monthIndex = months.firstIndex(of: String(parts[2])), let year = Int64(parts[3]) else { return nil }
        let clock = parts[4].split(separator: ":")
        guard clock.count == 3, let hour = Int64(clock[0]), let minute = Int64(clock[1]), let second = Int64(clock[2]),
            (1...31).contains(day), (0...23).contains(hour), (0...59).contains(minute), (0...60).contains(second) else { return nil }
        let epochSeconds = Timestamp.days(fromCivil: year, Int64(monthIndex + 1), day) * 86_400 + hour * 3600 + minute * 60 + second
        return max(0, epochSeconds - now.microseconds / 1_000_000)
    }
}

/// A delivery is written back on every claim and every attempt: straight into bytes. This is the
/// one layout: `Codable` encodes what the writer writes, and reads stored rows back.
extension WebhookDelivery: JSONWritable {
    public func write(to w: inout JSONWriter) {
        w.object { w in
            w.key("attempts")
            w.array(attempts) { w, attempt in attempt.write(to: &w) }
            w.field("created_at", createdAt.description)
            w.field("event", event.rawValue)
            w.field("event_type", eventType)
            w.field("id", id.rawValue)
            w.field("next_attempt_at", nextAttemptAt?.description)
            w.field("object", object)
            w.key("redelivery")
            w.bool(redelivery)
            w.field("status", status.rawValue)
            w.field("updated_at", updatedAt.description)
            w.field("webhook_endpoint", webhookEndpoint.rawValue)
        }
    }
}

extension WebhookAttempt: JSONWritable {
    public func write(to w: inout JSONWriter) {
        w.object { w in
            w.field("attempted_at", attemptedAt.description)
            w.field("error", error)
            w.field("latency_ms", Int64(latencyMs))
            w.field("number", Int64(number))
            w.field("response_excerpt", responseExcerpt)
            w.field("result", result.rawValue)
            w.field("status_code", statusCode.map(Int64.init))
        }
    }
}

extension WebhookDelivery { public func encode(to encoder: any Encoder) throws { try json.encode(to: encoder) } }
extension WebhookAttempt { public func encode(to encoder: any Encoder) throws { try json.encode(to: encoder) } }
