import Testing
import ZentraCore

/// The rate limiter's bucket, with the time passed in.
@Suite struct TokenBucketTests {
    @Test func aBurstIsAllowedThenRefusedUntilTimeRefillsIt() {
        var bucket = TokenBucket(rate_per_second: 10, burst: 20, now_us: 0)
        for taken in 1...20 {
            let decision = bucket.take(now_us: 0)
            #expect(decision.allowed && decision.remaining == Int64(20 - taken))
        }
        let refused = bucket.take(now_us: 0)
        #expect(!refused.allowed && refused.remaining == 0)
        #expect(refused.retryAfterSeconds == 1 && refused.fullSeconds == 2)
        #expect(!bucket.take(now_us: 99_999).allowed, "a tenth of a second brings one request back, not before")
        #expect(bucket.take(now_us: 100_000).allowed)
        #expect(!bucket.take(now_us: 100_000).allowed, "a refusal took nothing, the next one is refused too")
    }

    @Test func aLongPauseFillsTheBucketAndNoMore() {
        var bucket = TokenBucket(rate_per_second: 100, burst: 200, now_us: 0)
        for _ in 0..<200 { _ = bucket.take(now_us: 0) }
        #expect(!bucket.isFull(now_us: 1_999_999) && bucket.isFull(now_us: 2_000_000))
        let later = bucket.take(now_us: Int64.max / 2)
        #expect(later.allowed && later.remaining == 199, "filled to the burst, never past it")
        #expect(bucket.take(now_us: 0).remaining == 198, "a clock that steps back refills nothing, and takes what is there")
    }
}
