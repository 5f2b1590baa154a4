import Foundation
import Synchronization
import ZentraCore

/// IANA time zones by name, checked once and kept: the authorization path asks for the offset of
/// its tenant's zone on every decision.
public enum TimeZones {
    private static let cache = Mutex<[String: TimeZone]>([:])

    public static func zone(_ identifier: String) -> TimeZone? {
        if let zone = cache.withLock({ $0[identifier] }) { return zone }
        guard let zone = TimeZone(identifier: identifier) else { return nil }
        cache.withLock { $0[identifier] = zone }
        return zone
    }

    /// Seconds the zone is ahead of UTC at `instant` (daylight saving included); UTC for an unknown zone.
    public static func utcOffsetSeconds(_ identifier: String, at instant: Timestamp) -> Int {
        zone(identifier)?.secondsFromGMT(for: instant.date) ?? 0
    }
}
