/// A token bucket: `burst` requests at once, refilled at `rate_per_second`. Pure: the caller
/// passes the time. Tokens are counted in millionths so that refilling by the microsecond stays
/// exact in integers.
public struct TokenBucket: Sendable, Hashable {
    public struct Decision: Sendable, Hashable {
        public let allowed: Bool
        /// Whole requests left now.
        public let remaining: Int64
        /// Seconds until one more request is allowed (0 when one is now).
        public let retryAfterSeconds: Int64
        /// Seconds until the bucket is full again.
        public let fullSeconds: Int64
    }

    static let unit: Int64 = 1_000_000

    public let rate_per_second: Int64
    public let burst: Int64
    private var tokensMicro: Int64
    private var updated_us: Int64

    /// A full bucket at `now_us`.
    public init(rate_per_second: Int64, burst: Int64, now_us: Int64) {
        precondition(rate_per_second > 0 && burst > 0, "a bucket refills and holds at least one request")
        self.rate_per_second = rate_per_second
        self.burst = burst
        self.tokensMicro = burst * Self.unit
        self.updated_us = now_us
    }

    /// Whether the bucket is full at `now_us`: it then holds nothing worth keeping.
    public func isFull(now_us: Int64) -> Bool {
        refilled(now_us: now_us) == burst * Self.unit
    }

    /// Takes one request's token if there is one; a refusal takes nothing.
    public mutating func take(now_us: Int64) -> Decision {
        tokensMicro = refilled(now_us: now_us)
        updated_us = max(updated_us, now_us)
        let allowed = tokensMicro >= Self.unit
        if allowed { tokensMicro -= Self.unit }
        let missing = allowed ? 0 : Self.unit - tokensMicro
        return Decision(allowed: allowed, remaining: tokensMicro / Self.unit,
                        retryAfterSeconds: Self.seconds(refilling: missing, rate: rate_per_second),
                        fullSeconds: Self.seconds(refilling: burst * Self.unit - tokensMicro, rate: rate_per_second))
    }

    private func refilled(now_us: Int64) -> Int64 {
        // A clock that stepped back refills nothing; a long pause fills the bucket, never more.
        let elapsed_us = max(0, now_us - updated_us)
        let (added, overflow) = elapsed_us.multipliedReportingOverflow(by: rate_per_second)
        let capacity = burst * Self.unit
        return overflow ? capacity : min(capacity, tokensMicro + min(added, capacity))
    }

    /// Whole seconds, rounded up, for `micro` tokens to come back at `rate` a second.
    private static func seconds(refilling micro: Int64, rate: Int64) -> Int64 {
        guard micro > 0 else { return 0 }
        let micros_needed = (micro + rate - 1) / rate
        return (micros_needed + unit - 1) / unit
    }
}
