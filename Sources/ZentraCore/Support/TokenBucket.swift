/// A token bucket: `burst` requests at once, refilled at `ratePerSecond`. Pure: the caller
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

    public let ratePerSecond: Int64
    public let burst: Int64
    private var tokensMicro: Int64
    private var updatedMicroseconds: Int64

    /// A full bucket at `nowMicroseconds`.
    public init(ratePerSecond: Int64, burst: Int64, nowMicroseconds: Int64) {
        precondition(ratePerSecond > 0 && burst > 0, "a bucket refills and holds at least one request")
        self.ratePerSecond = ratePerSecond
        self.burst = burst
        self.tokensMicro = burst * Self.unit
        self.updatedMicroseconds = nowMicroseconds
    }

    /// Whether the bucket is full at `nowMicroseconds`: it then holds nothing worth keeping.
    public func isFull(nowMicroseconds: Int64) -> Bool {
        refilled(nowMicroseconds: nowMicroseconds) == burst * Self.unit
    }

    /// Takes one request's token if there is one; a refusal takes nothing.
    public mutating func take(nowMicroseconds: Int64) -> Decision {
        tokensMicro = refilled(nowMicroseconds: nowMicroseconds)
        updatedMicroseconds = max(updatedMicroseconds, nowMicroseconds)
        let allowed = tokensMicro >= Self.unit
        if allowed { tokensMicro -= Self.unit }
        let missing = allowed ? 0 : Self.unit - tokensMicro
        return Decision(allowed: allowed, remaining: tokensMicro / Self.unit,
                        retryAfterSeconds: Self.seconds(refilling: missing, rate: ratePerSecond),
                        fullSeconds: Self.seconds(refilling: burst * Self.unit - tokensMicro, rate: ratePerSecond))
    }

    private func refilled(nowMicroseconds: Int64) -> Int64 {
        // A clock that stepped back refills nothing; a long pause fills the bucket, never more.
        let elapsedMicroseconds = max(0, nowMicroseconds - updatedMicroseconds)
        let (added, overflow) = elapsedMicroseconds.multipliedReportingOverflow(by: ratePerSecond)
        let capacity = burst * Self.unit
        return overflow ? capacity : min(capacity, tokensMicro + min(added, capacity))
    }

    /// Whole seconds, rounded up, for `micro` tokens to come back at `rate` a second.
    private static func seconds(refilling micro: Int64, rate: Int64) -> Int64 {
        guard micro > 0 else { return 0 }
        let microsecondsNeeded = (micro + rate - 1) / rate
        return (microsecondsNeeded + unit - 1) / unit
    }
}
