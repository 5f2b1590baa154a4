/// A card as policy saw it at one version: its status, controls and geofence then, with what never
/// changes on a card. Versions are append-only (a new one is written with every change), so a
/// decision names the version it saw and renders from it for ever after.
public struct CardVersion: Sendable, Hashable {
    public let card: CardID
    public let version: Int64
    public let status: CardStatus
    public let spendControls: SpendControls
    public let geofenceEnabled: Bool
    public let geofenceRadiusKm: Int
    public let last4: String
    public let type: CardType
    public let program: CardProgramID
    public let currency: Currency
    public let expMonth: Int
    public let expYear: Int

    public init(card: CardID, version: Int64, status: CardStatus, spendControls: SpendControls, geofenceEnabled: Bool,
                geofenceRadiusKm: Int, last4: String, type: CardType, program: CardProgramID, currency: Currency, expMonth: Int,
                expYear: Int) {
        self.card = card
        self.version = version
        self.status = status
        self.spendControls = spendControls
        self.geofenceEnabled = geofenceEnabled
        self.geofenceRadiusKm = geofenceRadiusKm
        self.last4 = last4
        self.type = type
        self.program = program
        self.currency = currency
        self.expMonth = expMonth
        self.expYear = expYear
    }

    public var policySnapshot: CardPolicySnapshot {
        CardPolicySnapshot(status: status, expMonth: expMonth, expYear: expYear, currency: currency, controls: spendControls,
                           geofenceEnabled: geofenceEnabled, geofenceRadiusKm: geofenceRadiusKm)
    }

    /// The card as a decision's evidence shows it: last4, never the PAN.
    public var evidenceJSON: JSONValue {
        .object([
            "id": .string(card.rawValue), "last4": .string(last4), "status": .string(status.rawValue), "type": .string(type.rawValue),
            "program": .string(program.rawValue), "exp_month": .int(Int64(expMonth)), "exp_year": .int(Int64(expYear)),
            "spend_controls": spendControls.json, "geofence_enabled": .bool(geofenceEnabled),
            "geofence_radius_km": .int(Int64(geofenceRadiusKm)),
        ])
    }
}

extension Card {
    /// This card as its version `version` (the card's current state is its latest version).
    public func version(_ version: Int64) -> CardVersion {
        CardVersion(card: id, version: version, status: status, spendControls: spendControls, geofenceEnabled: geofenceEnabled,
                    geofenceRadiusKm: geofenceRadiusKm, last4: last4, type: type, program: program, currency: currency,
                    expMonth: expMonth, expYear: expYear)
    }
}
