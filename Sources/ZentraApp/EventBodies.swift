import Synchronization
import ZentraCore
import ZentraStorage

/// Event bodies as sent, kept by one delivery worker for all its endpoints. An authorization
/// event is rendered from its decision, decided again, which costs more than sending it; and
/// each endpoint reads its stream from its own place, so the endpoints of one event claim it in
/// different passes. Kept here, an event is read and rendered once for all of them. A body never
/// changes (its signature covers it, and a redelivery sends the same one), so a kept one is
/// always right. Two generations bound the memory: when the newer holds half of `bytes_max`, the
/// older is dropped, and a body found there moves to the newer.
public final class EventBodies: Sendable {
    public struct Body: Sendable {
        public let bytes: [UInt8]
        /// When the event happened: a delivery's lag is measured from it.
        public let createdAt: Timestamp
    }

    private struct Key: Hashable {
        let tenant: TenantID
        let event: EventID
    }

    private struct Generations {
        var newer: [Key: Body] = [:]
        var newerBytes = 0
        var older: [Key: Body] = [:]

        mutating func take(_ key: Key, bytes_max: Int) -> Body? {
            if let body = newer[key] { return body }
            guard let body = older.removeValue(forKey: key) else { return nil }
            keep(key, body, bytes_max: bytes_max)
            return body
        }

        mutating func keep(_ key: Key, _ body: Body, bytes_max: Int) {
            if newerBytes >= bytes_max / 2 {
                older = newer
                newer = [:]
                newerBytes = 0
            }
            newer[key] = body
            newerBytes += body.bytes.count
        }
    }

    private let kept = Mutex(Generations())
    let bytes_max: Int

    /// 32 MiB by default: at about 1.5 KB an authorization event, the last ten thousand or more.
    public init(bytes_max: Int = 32 << 20) { self.bytes_max = bytes_max }

    /// The bodies of these events, reading and rendering those not kept (in one read); an event
    /// not found is left out.
    public func find(_ ids: Set<EventID>, tenant: TenantID, store: Store) async throws -> [EventID: Body] {
        var found: [EventID: Body] = [:]
        var missing: [EventID] = []
        kept.withLock { kept in
            for id in ids {
                if let body = kept.take(Key(tenant: tenant, event: id), bytes_max: bytes_max) { found[id] = body } else { missing.append(id) }
            }
        }
        guard !missing.isEmpty else { return found }
        let read = try await store.read(tenant: tenant) { [missing] in try await $0.events.findAll(missing) }
        let rendered = read.mapValues { Body(bytes: $0.serialized, createdAt: $0.createdAt) }
        kept.withLock { kept in
            for (id, body) in rendered { kept.keep(Key(tenant: tenant, event: id), body, bytes_max: bytes_max) }
        }
        return found.merging(rendered) { kept, _ in kept }
    }
}
