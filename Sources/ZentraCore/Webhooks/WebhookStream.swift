/// Whether an endpoint's stream hands out its events. An endpoint that fails every attempt is
/// paused: its new events wait in the stream, where they cost nothing, instead of each becoming a
/// failed attempt and a row of retries that take the worker from the endpoints that answer. While
/// paused, one event at a time probes it, at waits that grow with how long it has been failing;
/// the first attempt that succeeds (a probe, or a retry on its own schedule) resumes the stream,
/// and the events that waited go out in order. A receiver's `Retry-After` pauses it as asked.
public struct WebhookStreamHealth: Sendable, Hashable {
    /// Failed attempts recorded since the last success.
    public var failures: Int64
    /// When the first of those failures was recorded.
    public var failingSince: Timestamp?
    /// Set while paused: until when no event is handed out. Past it, one event probes the endpoint.
    public var pausedUntil: Timestamp?

    public static let healthy = WebhookStreamHealth(failures: 0, failingSince: nil, pausedUntil: nil)
    /// Failures in a row, with no success among them, that pause the stream: a lone failure of an
    /// endpoint that mostly answers leaves the stream running, its delivery retried on schedule.
    public static let pauseAfterFailures: Int64 = 10
    /// The waits between probes: as long as the endpoint has been failing, within these bounds
    /// (so they double), so a dead endpoint costs an attempt a minute and one that comes back
    /// gets its events within a minute.
    public static let probeWaitSeconds_min: Int64 = 5
    public static let probeWaitSeconds_max: Int64 = 60

    public init(failures: Int64, failingSince: Timestamp?, pausedUntil: Timestamp?) {
        self.failures = failures
        self.failingSince = failingSince
        self.pausedUntil = pausedUntil
    }

    /// How many of its next events the stream may hand out now, of `limit` wanted: all of them,
    /// none while paused, one (the probe) once the pause has passed.
    public func streamLimit(_ limit: Int, now: Timestamp) -> Int {
        guard let pausedUntil else { return limit }
        return pausedUntil <= now ? min(limit, 1) : 0
    }

    /// The health after a batch of the endpoint's attempts was recorded: any success makes it
    /// healthy; failures alone add up, and pause the stream once they reach the threshold or when
    /// the receiver asked for a pause (`Retry-After`, the longest it gave, in seconds).
    public func recorded(succeeded: Int, failed: Int, retryAfterSeconds: Int64?, now: Timestamp) -> WebhookStreamHealth {
        if succeeded > 0 { return .healthy }
        guard failed > 0 else { return self }
        var next = self
        next.failures += Int64(failed)
        let since = failingSince ?? now
        next.failingSince = since
        var until: Timestamp?
        if next.failures >= Self.pauseAfterFailures {
            let failingSeconds = (now.microseconds - since.microseconds) / 1_000_000
            until = now.adding(seconds: min(max(failingSeconds, Self.probeWaitSeconds_min), Self.probeWaitSeconds_max))
        }
        if let retryAfterSeconds {
            let asked = now.adding(seconds: min(max(retryAfterSeconds, 0), WebhookRetrySchedule.retryAfterSeconds_max))
            until = max(until ?? asked, asked)
        }
        if let until { next.pausedUntil = until }
        return next
    }

    /// A probe was handed out: the stream stays paused while it may be in flight (`seconds`, its
    /// timeout), so no second probe goes out beside it; its outcome sets the next pause.
    public func probing(for seconds: Int64, now: Timestamp) -> WebhookStreamHealth {
        var next = self
        next.pausedUntil = now.adding(seconds: seconds)
        return next
    }
}

/// An endpoint's stream: its place in the tenant's events (the sequence up to which they have been
/// handed out), its health, and what is owed from before it was last disabled.
public struct WebhookStream: Sendable, Hashable {
    public var position: Int64
    public var health: WebhookStreamHealth
    /// Events up to here happened while the endpoint was enabled and are still owed to it: set
    /// when it is disabled before its stream reached them (a paused stream, a backlog).
    public var owedThrough: Int64?
    /// Set when it is enabled again with events owed: once they are handed out, the stream goes on
    /// after this event (the latest when it was enabled), so what happened while it was disabled
    /// is skipped.
    public var resumeAfter: Int64?

    public init(position: Int64, health: WebhookStreamHealth = .healthy, owedThrough: Int64? = nil, resumeAfter: Int64? = nil) {
        self.position = position
        self.health = health
        self.owedThrough = owedThrough
        self.resumeAfter = resumeAfter
    }

    /// Where the stream's next claim may look up to, the tenant's latest event being `head`: the
    /// end of what is owed first.
    public func end(head: Int64) -> Int64 { min(owedThrough ?? head, head) }

    /// Handed out through `sequence`: past what was owed, it goes on after `resumeAfter`.
    public func handedOut(through sequence: Int64) -> WebhookStream {
        var next = self
        next.position = max(position, sequence)
        if let owed = owedThrough, let resume = resumeAfter, next.position >= owed {
            next.position = max(next.position, resume)
            (next.owedThrough, next.resumeAfter) = (nil, nil)
        }
        return next
    }

    /// Disabled when the tenant's latest event is `head`: what the stream has not reached is
    /// owed. Disabled again before it caught up, everything up to now is owed (the time it was
    /// disabled before included): sending an event of that time beats losing one owed.
    public func disabled(head: Int64) -> WebhookStream {
        var next = self
        (next.owedThrough, next.resumeAfter) = (position < head ? head : nil, nil)
        return next
    }

    /// Enabled again when the tenant's latest event is `head`: what is owed goes out first, then
    /// what happens from now on; healthy, so it is not paused for failures of before.
    public func enabled(head: Int64) -> WebhookStream {
        var next = WebhookStream(position: position)
        if let owed = owedThrough, position < owed {
            (next.owedThrough, next.resumeAfter) = (owed, head)
        } else {
            next.position = max(position, head)
        }
        return next
    }

    /// Events of the stream not handed out yet, of any type: while its endpoint is disabled, those
    /// owed to it.
    public func unreached(head: Int64, enabled: Bool) -> Int64 {
        guard let owed = owedThrough else { return enabled ? max(0, head - position) : 0 }
        return max(0, owed - position) + (enabled ? max(0, head - (resumeAfter ?? head)) : 0)
    }
}
