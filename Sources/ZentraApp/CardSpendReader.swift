import ZentraCore
import ZentraStorage

/// `GET /cards/{id}`: the card with its spend in the current windows of its tenant's time zone.
public enum CardSpendReader {
    public static func card(_ raw: String, now: Timestamp, scope: some TenantScope) async throws -> Card {
        let id: CardID = try Validate.id(raw, "id", "card")
        guard case (var card, let counters)? = try await scope.cards.findWithCounters(id) else {
            throw DomainError.resourceMissing("card", id: raw)
        }
        let timeZone = try await scope.tenantSettings.record().timeZone
        let keys = WindowKeys(at: now, utcOffsetSeconds: TimeZones.utcOffsetSeconds(timeZone, at: now))
        card.spend = CardSpend(controls: card.spendControls, usage: counters.usage(at: keys), timeZone: timeZone)
        return card
    }
}
