import Testing
@testable import ZentraHTTP

/// The delivery worker's wake-up: a signal wakes one wait, and leaves nothing behind.
@Suite struct WakeSignalTests {
    /// A wait that a signal ended leaves no signal behind: its timeout, cancelled, rings nothing.
    /// One left behind made every next wait return at once, so an idle worker ran its passes
    /// back to back.
    @Test func aWaitEndedBySignalLeavesNoSignalBehind() async {
        let signal = WakeSignal()
        for _ in 0..<3 {
            signal.signal()
            #expect(signal.isPending)
            await signal.wait(upTo: .seconds(3_600))
            #expect(!signal.isPending)
        }
    }

    /// A cancelled wait (shutdown) returns at once, long before its timeout.
    @Test(.timeLimit(.minutes(1))) func aCancelledWaitReturnsAtOnce() async {
        let signal = WakeSignal()
        let waiting = Task { await signal.wait(upTo: .seconds(3_600)) }
        waiting.cancel()
        await waiting.value
    }
}
