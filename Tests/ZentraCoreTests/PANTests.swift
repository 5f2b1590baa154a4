import Testing
@testable import ZentraCore

@Suite struct PANTests {
    @Test func knownNumbersPassTheLuhnCheck() {
        #expect(PAN.isValid("4242424242424242"))
        #expect(PAN.isValid("4000056655665556"))
        #expect(!PAN.isValid("4242424242424241"))
        #expect(!PAN.isValid("42424242a2424242"))
    }

    @Test func generatedNumbersKeepTheBINAndPassLuhn() {
        var seed: UInt8 = 0
        for _ in 0..<200 {
            let pan = PAN.make(bin: "535522") { seed &+= 7; return seed }
            #expect(pan.count == 16 && pan.hasPrefix("535522") && PAN.isValid(pan))
        }
    }

    @Test func expiryIsThreeYearsOut() {
        let issued = Timestamp(rfc3339: "2026-11-23T10:00:00Z")!
        #expect(PAN.expiry(issuedAt: issued) == (11, 2029))
    }
}

@Suite struct CardLifecycleTests {
    @Test func lockAndUnlockToggleAndRepeatsChangeNothing() throws {
        #expect(try CardLifecycle.next(from: .active, .lock) == .locked)
        #expect(try CardLifecycle.next(from: .locked, .unlock) == .active)
        #expect(try CardLifecycle.next(from: .locked, .lock) == nil)
        #expect(try CardLifecycle.next(from: .active, .unlock) == nil)
    }

    @Test func closureIsFinal() throws {
        #expect(try CardLifecycle.next(from: .locked, .close) == .closed)
        #expect(try CardLifecycle.next(from: .active, .close) == .closed)
        for action in [CardLifecycle.Action.lock, .unlock, .close, .updateSecurity] {
            #expect(throws: DomainError.self) { try CardLifecycle.next(from: .closed, action) }
        }
    }
}
