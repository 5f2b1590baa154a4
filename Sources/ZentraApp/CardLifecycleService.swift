import ZentraCore
import ZentraStorage

public struct CardStateChange: Sendable, Decodable {
    public var reason: String?
}

/// Security settings: any field given replaces the card's; absent fields stay. The top-level lists
/// and limits are the API's field names (`openapi.yaml`, `POST /cards/{id}/security`; naming as in
/// `docs/conventions.md`); `spend_controls` may carry the same fields.
public struct CardSecurityUpdate: Sendable, Decodable {
    public var spendControls: SpendControls?
    public var allowedChannels: [String]?
    public var blockedChannels: [String]?
    public var allowedMccs: [String]?
    public var blockedMccs: [String]?
    public var allowedCountries: [String]?
    public var geofenceEnabled: Bool?
    public var geofenceRadiusKm: Int?
}

/// Lock, unlock, security settings and operator closure. Each change is an event and an audit
/// record; a repeat (locking a locked card) changes nothing and records nothing.
public enum CardLifecycleService {
    public static func change(
        _ id: CardID, _ action: CardLifecycle.Action, reason: String?, in tx: WriteTransaction
    ) async throws -> Card {
        let reason = try reason.map { try Validate.text($0, "reason", max: 500) }
        var card = try await tx.cards.locked(id)
        guard let status = try CardLifecycle.next(from: card.status, action) else { return card }
        card.status = status
        card.updatedAt = tx.now
        try await tx.cards.update(card)
        let type = EventType.card(status)
        try tx.emit(type, objectType: .card, objectID: id.rawValue, data: card)
        tx.audit(.event(type), objectType: .card, objectID: id.rawValue, context: .object([
            "status": .string(status.rawValue), "reason": reason.map(JSONValue.string) ?? .null, "last4": .string(card.last4),
        ]))
        return card
    }

    public static func updateSecurity(_ id: CardID, _ input: CardSecurityUpdate, in tx: WriteTransaction) async throws -> Card {
        var validated = try (input.spendControls ?? SpendControls()).validated(param: "spend_controls")
        if let list = input.allowedChannels { validated.allowedChannels = try SpendControls.channels(list, "allowed_channels") }
        if let list = input.blockedChannels { validated.blockedChannels = try SpendControls.channels(list, "blocked_channels") }
        if let list = input.allowedMccs { validated.allowedMccs = try SpendControls.merchantCategories(list, "allowed_mccs") }
        if let list = input.blockedMccs { validated.blockedMccs = try SpendControls.merchantCategories(list, "blocked_mccs") }
        if let list = input.allowedCountries { validated.allowedCountries = try SpendControls.countries(list, "allowed_countries") }
        if let radius = input.geofenceRadiusKm, !Card.geofenceRadiusKmRange.contains(radius) {
            throw DomainError.parameterInvalid("geofence_radius_km", "must be from 1 to \(Card.geofenceRadiusKmRange.upperBound)")
        }

        var card = try await tx.cards.locked(id)
        _ = try CardLifecycle.next(from: card.status, .updateSecurity)
        let before = card
        card.spendControls = validated.overriding(card.spendControls)
        card.geofenceEnabled = input.geofenceEnabled ?? card.geofenceEnabled
        card.geofenceRadiusKm = input.geofenceRadiusKm ?? card.geofenceRadiusKm
        guard card != before else { return before }
        card.updatedAt = tx.now
        try await tx.cards.update(card)
        try tx.emit(.cardSecurityUpdated, objectType: .card, objectID: id.rawValue, data: card)
        tx.audit(.event(.cardSecurityUpdated), objectType: .card, objectID: id.rawValue, context: .object([
            "before": try JSONValue.from(before.spendControls), "after": try JSONValue.from(card.spendControls),
            "geofence_enabled": .bool(card.geofenceEnabled), "geofence_radius_km": .int(Int64(card.geofenceRadiusKm)),
        ]))
        return card
    }
}
