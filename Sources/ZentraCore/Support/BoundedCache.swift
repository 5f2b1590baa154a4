import Synchronization

/// Values kept in this process's memory by key, at most `capacity` of them: when full, it is
/// emptied rather than ordered by use, since what it holds (programs, keys, cards, configuration
/// texts) is read again on the next request that needs it, and keeping an order would cost every
/// hit a write.
public final class BoundedCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    public let capacity: Int
    private let entries = Mutex<[Key: Value]>([:])

    public init(capacity: Int) {
        self.capacity = capacity
    }

    public subscript(key: Key) -> Value? { entries.withLock { $0[key] } }

    public func keep(_ value: Value, for key: Key) {
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[key] = value
        }
    }

    public func forget(_ key: Key) {
        _ = entries.withLock { $0.removeValue(forKey: key) }
    }
}
