import ZentraCore
import ZentraStorage

/// `GET /cards/{id}`: the card with its spend in the current windows of its tenant's time zone.
public enum CardSpendReader {
    public static func card(_ id: CardID, now: Timestamp, scope: some TenantScope) async throws -> Card {
        guard case (var card, let counters)? = try await scope.cards.findWithCounters(id) else {
            throw DomainError.resourceMissing("card", id: id.rawValue)
        }
        let timeZone = try await scope.tenantSettings.record().timeZone
        let keys = WindowKeys(at: now, utcOffsetSeconds: TimeZones.utcOffsetSeconds(timeZone, at: now))
        card.spend = CardSpend(controls: card.spendControls, usage: counters.usage(at: keys), timeZone: timeZone)
        return card
    }
}
