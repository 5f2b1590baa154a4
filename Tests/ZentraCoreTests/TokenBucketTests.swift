import Testing
import ZentraCore

/// The rate limiter's bucket, with the time passed in.
@Suite struct TokenBucketTests {
    @Test func aBurstIsAllowedThenRefusedUntilTimeRefillsIt() {
        var bucket = TokenBucket(ratePerSecond: 10, burst: 20, nowMicroseconds: 0)
        for taken in 1...20 {
            let decision = bucket.take(nowMicroseconds: 0)
            #expect(decision.allowed && decision.remaining == Int64(20 - taken))
        }
        let refused = bucket.take(nowMicroseconds: 0)
        #expect(!refused.allowed && refused.remaining == 0)
        #expect(refused.retryAfterSeconds == 1 && refused.fullSeconds == 2)
        #expect(!bucket.take(nowMicroseconds: 99_999).allowed, "a tenth of a second brings one request back, not before")
        #expect(bucket.take(nowMicroseconds: 100_000).allowed)
        #expect(!bucket.take(nowMicroseconds: 100_000).allowed, "a refusal took nothing, the next one is refused too")
    }

    @Test func aLongPauseFillsTheBucketAndNoMore() {
        var bucket = TokenBucket(ratePerSecond: 100, burst: 200, nowMicroseconds: 0)
        for _ in 0..<200 { _ = bucket.take(nowMicroseconds: 0) }
        #expect(!bucket.isFull(nowMicroseconds: 1_999_999) && bucket.isFull(nowMicroseconds: 2_000_000))
        let later = bucket.take(nowMicroseconds: Int64.max / 2)
        #expect(later.allowed && later.remaining == 199, "filled to the burst, never past it")
        #expect(bucket.take(nowMicroseconds: 0).remaining == 198, "a clock that steps back refills nothing, and takes what is there")
    }
}
