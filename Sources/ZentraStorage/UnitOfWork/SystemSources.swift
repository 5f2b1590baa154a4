import Foundation
import ZentraCore

/// Identifier bodies that sort by creation time: 8 base-62 characters of milliseconds since the
/// epoch, then 14 random ones (about 83 bits) from the system's secure generator.
///
/// Every table's primary key is an id, so a random id sends each insert to a random B-tree page,
/// which must be read and then written whole to the log; ids that grow with time append to the
/// same few right-most pages. The alphabet is in ASCII order, so string order is time order.
public struct TimeOrderedIDGenerator: IDGenerator {
    public init() {}

    public func nextBody() -> String {
        var characters = [UInt8](repeating: 0, count: 22)
        var milliseconds = UInt64(max(0, Date().timeIntervalSince1970 * 1000))
        for index in (0..<8).reversed() {
            characters[index] = Base62.alphabet[Int(milliseconds % 62)]
            milliseconds /= 62
        }
        // Random bytes 8 at a time, mapped without bias (bytes of 248 and above are skipped).
        var generator = SystemRandomNumberGenerator()
        var filled = 8
        while filled < 22 {
            var word = generator.next()
            for _ in 0..<8 where filled < 22 {
                let byte = UInt8(truncatingIfNeeded: word)
                word >>= 8
                if byte < 248 {
                    characters[filled] = Base62.alphabet[Int(byte % 62)]
                    filled += 1
                }
            }
        }
        return String(decoding: characters, as: UTF8.self)
    }
}

enum Base62 {
    static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)
}


/// The real clock, for the shell; the core only ever sees `WallClock`.
public struct SystemClock: WallClock {
    public init() {}
    public func now() -> Timestamp { Timestamp(Date()) }
}
