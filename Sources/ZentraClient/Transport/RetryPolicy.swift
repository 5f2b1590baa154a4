/// When a failed attempt is tried again, and after how long. Every POST the SDK sends carries an
/// idempotency key (or the natural key the endpoint takes as one), so a retry never acts twice.
public struct RetryPolicy: Sendable {
    /// Tries after the first; 0 turns retrying off.
    public var maxRetries: Int
    /// The first delay; each next one doubles, up to `maxDelay`.
    public var initialDelay: Duration
    public var maxDelay: Duration
    /// A `Retry-After` longer than this is not waited for: the error is thrown instead.
    public var maxRetryAfter: Duration

    public init(maxRetries: Int = 3, initialDelay: Duration = .milliseconds(250), maxDelay: Duration = .seconds(8),
                maxRetryAfter: Duration = .seconds(60)) {
        self.maxRetries = maxRetries
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
        self.maxRetryAfter = maxRetryAfter
    }

    /// Answers worth another try: the key's first request still running (409
    /// `idempotency_request_in_progress`), a rate limit (429), and the server or its database
    /// unavailable (503). Never another 4xx: the same request would hear the same.
    static func isRetryable(_ error: ZentraError) -> Bool {
        error.status == 429 || error.status == 503 || error.code == .idempotencyRequestInProgress
    }

    /// The wait before try `attempt + 1` (0-based): the server's `Retry-After` when it gave one,
    /// else exponential backoff with full jitter in its upper half. Nil: do not retry.
    /// - Parameter jitter: a number in 0...1 (random in use; fixed in tests).
    func delay(afterAttempt attempt: Int, retryAfterSeconds: Int?, jitter: Double) -> Duration? {
        guard attempt < maxRetries else { return nil }
        if let seconds = retryAfterSeconds {
            let wait = Duration.seconds(max(0, seconds))
            return wait <= maxRetryAfter ? wait : nil
        }
        let exponential = initialDelay * (1 << min(attempt, 20))
        let capped = min(exponential, maxDelay)
        return capped * (0.5 + 0.5 * min(max(jitter, 0), 1))
    }
}
