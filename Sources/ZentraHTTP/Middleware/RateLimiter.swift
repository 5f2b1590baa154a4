import Synchronization
import ZentraCore

/// `ZENTRA_RATE_LIMIT` and `ZENTRA_RATE_LIMIT_NETWORK`: requests per second per API key, 0 for none.
public struct RateLimitSettings: Sendable, Hashable {
    /// Every key but the network's; a burst of twice this is allowed.
    public var perSecond: Int64 = 100
    /// Keys of the `network` role: not limited unless set, so that a card network is never refused for speed.
    public var networkPerSecond: Int64 = 0

    public init(perSecond: Int64 = 100, networkPerSecond: Int64 = 0) {
        self.perSecond = perSecond
        self.networkPerSecond = networkPerSecond
    }
}

/// One token bucket per API key, in this process's memory: the limit holds per process, so N
/// processes behind a balancer allow N times it. Bounded: when full, idle (full) buckets go first.
final class RateLimiter: Sendable {
    static let keys_max = 100_000
    let settings: RateLimitSettings
    private let buckets = Mutex<[APIKeyID: TokenBucket]>([:])

    init(settings: RateLimitSettings) { self.settings = settings }

    /// Nil when `principal` is not limited; else the decision on one more request now. The clock
    /// is read only for a limited key: decisions by unlimited network keys pay nothing here.
    func take(_ principal: Principal, clock: any WallClock) -> Limit? {
        let rate = principal.role == .network ? settings.networkPerSecond : settings.perSecond
        guard rate > 0, let key = principal.keyID else { return nil }
        let nowMicroseconds = clock.now().microseconds
        return buckets.withLock { buckets in
            if buckets[key] == nil, buckets.count >= Self.keys_max {
                buckets = buckets.filter { !$0.value.isFull(nowMicroseconds: nowMicroseconds) }
                if buckets.count >= Self.keys_max { buckets.removeAll(keepingCapacity: true) }
            }
            var bucket = buckets[key] ?? TokenBucket(ratePerSecond: rate, burst: 2 * rate, nowMicroseconds: nowMicroseconds)
            let decision = bucket.take(nowMicroseconds: nowMicroseconds)
            buckets[key] = bucket
            return Limit(decision: decision, burst: bucket.burst)
        }
    }

    /// One request's decision, with the quota it was taken from.
    struct Limit {
        let decision: TokenBucket.Decision
        let burst: Int64

        /// `RateLimit-Policy` and `RateLimit` (draft-ietf-httpapi-ratelimit-headers): the quota a
        /// key has, and what is left of it with the seconds until it is whole again.
        var headers: [(String, String)] {
            [("RateLimit-Policy", "\"per-key\";q=\(burst);w=2"),
             ("RateLimit", "\"per-key\";r=\(decision.remaining);t=\(decision.fullSeconds)")]
        }
    }
}
