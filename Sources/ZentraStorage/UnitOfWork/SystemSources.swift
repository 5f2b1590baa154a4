import Foundation
import ZentraCore

/// Random identifier bodies from the system's secure generator.
public struct RandomIDGenerator: IDGenerator {
    public init() {}

    public func nextBody() -> String {
        var generator = SystemRandomNumberGenerator()
        return String((0..<22).map { _ in Base62.alphabet.randomElement(using: &generator)! })
    }
}

enum Base62 {
    static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
}


/// The real clock, for the shell; the core only ever sees `WallClock`.
public struct SystemClock: WallClock {
    public init() {}
    public func now() -> Timestamp { Timestamp(Date()) }
}
