import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ZentraCore

/// Identifier bodies that sort by creation time: 8 base-62 characters of milliseconds since the
/// epoch, then 14 random ones (about 83 bits) from the system's secure generator.
///
/// Every table's primary key is an id, so a random id sends each insert to a random B-tree page,
/// which must be read and then written whole to the log; ids that grow with time append to the
/// same few right-most pages. The alphabet is in ASCII order, so string order is time order.
public struct TimeOrderedIDGenerator: IDGenerator {
    /// Where the time part comes from (a test's clock, or the system's).
    let clock: any WallClock

    public init(clock: any WallClock = SystemClock()) { self.clock = clock }

    public func nextBody() -> String {
        String(unsafeUninitializedCapacity: 22) { characters in
            var milliseconds = UInt64(max(0, clock.now().microseconds / 1000))
            for index in (0..<8).reversed() {
                characters[index] = Base62.alphabet[Int(milliseconds % 62)]
                milliseconds /= 62
            }
            // Random bytes mapped without bias (bytes of 248 and above are skipped).
            var filled = 8
            SecureRandom.bytes { next in
                while filled < 22 {
                    let byte = next()
                    if byte < 248 {
                        characters[filled] = Base62.alphabet[Int(byte % 62)]
                        filled += 1
                    }
                }
            }
            return 22
        }
    }
}

/// The system's secure random bytes, drawn 4 KiB at a time: a decision makes half a dozen ids,
/// and two `getrandom` calls for each was most of what an id cost.
enum SecureRandom {
    private struct Pool {
        var bytes = [UInt8](repeating: 0, count: 4_096)
        var position = 4_096
    }

    private static let pool = Mutex(Pool())

    /// The kernel's random bytes, in as few calls as it takes.
    private static func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        #if canImport(Darwin)
        arc4random_buf(buffer.baseAddress!, buffer.count)
        #else
        var done = 0
        while done < buffer.count {
            let got = read(urandom, buffer.baseAddress! + done, buffer.count - done)
            precondition(got > 0 || errno == EINTR, "cannot read /dev/urandom")
            if got > 0 { done += got }
        }
        #endif
    }

    #if !canImport(Darwin)
    /// Linux's secure random source, open for the process's life.
    private static let urandom: Int32 = {
        let descriptor = open("/dev/urandom", O_RDONLY | O_CLOEXEC)
        precondition(descriptor >= 0, "cannot open /dev/urandom")
        return descriptor
    }()
    #endif

    /// Runs `body` with a source of random bytes, under the pool's lock.
    static func bytes(_ body: (() -> UInt8) -> Void) {
        pool.withLock { pool in
            body {
                if pool.position == pool.bytes.count {
                    pool.bytes.withUnsafeMutableBytes { fill($0) }
                    pool.position = 0
                }
                defer { pool.position += 1 }
                return pool.bytes[pool.position]
            }
        }
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
