import Foundation

/// The inputs of a decision as recorded in its evidence, and read back to decide again: the policy
/// core is pure, so the same inputs must give the same decision and the same rule trace, byte for
/// byte. Nested values use their own JSON forms (and `Codable` to read back); the decision's instant
/// is kept in microseconds so that nothing is rounded.
extension PolicyInput {
    public var json: JSONValue {
        var fields: [String: JSONValue] = [
            "card": .object([
                "status": .string(card.status.rawValue), "exp_month": .int(Int64(card.expMonth)), "exp_year": .int(Int64(card.expYear)),
                "currency": .string(card.currency.code), "spend_controls": card.controls.json, "geofence_enabled": .bool(card.geofenceEnabled),
                "geofence_radius_km": .int(Int64(card.geofenceRadiusKm)),
            ]),
            "amount_minor": .int(amount.minor), "currency": .string(amount.currency.code), "transaction_total_minor": .int(transactionTotalMinor),
            "merchant": merchant.json, "channel": .string(channel.rawValue), "now_microseconds": .int(now.microseconds), "spend": spend.json,
            "available_minor": .int(availableMinor), "review_rules": .array(reviewRules.map(\.json)),
            "review_outcome": .string(reviewOutcome.rawValue), "webhook_configured": .bool(webhookConfigured),
        ]
        if let deviceLocation { fields["device_location"] = deviceLocation.json }
        if let customer { fields["customer_decision"] = customer.json }
        return .object(fields)
    }

    /// Reads recorded inputs back; anything missing or malformed is an error, never a guess.
    public init(json: JSONValue) throws(DomainError) {
        let fields = json.objectFields
        let card = fields["card"]?.objectFields ?? [:]
        func missing(_ name: String) -> DomainError { DomainError.invariantViolated("recorded policy input lacks \(name)") }
        func string(_ object: [String: JSONValue], _ name: String) throws(DomainError) -> String {
            guard let value = object[name]?.stringValue else { throw missing(name) }
            return value
        }
        func int(_ object: [String: JSONValue], _ name: String) throws(DomainError) -> Int64 {
            guard case .int(let value)? = object[name] else { throw missing(name) }
            return value
        }
        func bool(_ object: [String: JSONValue], _ name: String) throws(DomainError) -> Bool {
            guard case .bool(let value)? = object[name] else { throw missing(name) }
            return value
        }
        let decoder = ZentraJSON.decoder()
        func decoded<T: Decodable>(_ value: JSONValue?, _ name: String, as _: T.Type = T.self) throws(DomainError) -> T {
            guard let value, let result = try? decoder.decode(T.self, from: Data(value.serialized)) else { throw missing(name) }
            return result
        }
        func enumValue<E: RawRepresentable>(_ raw: String, _ name: String) throws(DomainError) -> E where E.RawValue == String {
            guard let value = E(rawValue: raw) else { throw missing(name) }
            return value
        }
        guard let cardCurrency = Currency(code: try string(card, "currency")), let currency = Currency(code: try string(fields, "currency")) else {
            throw missing("currency")
        }
        self.init(
            card: CardPolicySnapshot(
                status: try enumValue(try string(card, "status"), "card.status"), expMonth: Int(try int(card, "exp_month")),
                expYear: Int(try int(card, "exp_year")), currency: cardCurrency, controls: try decoded(card["spend_controls"], "card.spend_controls"),
                geofenceEnabled: try bool(card, "geofence_enabled"), geofenceRadiusKm: Int(try int(card, "geofence_radius_km"))),
            amount: Money(minor: try int(fields, "amount_minor"), currency: currency), transactionTotalMinor: try int(fields, "transaction_total_minor"),
            merchant: try decoded(fields["merchant"], "merchant"), channel: try enumValue(try string(fields, "channel"), "channel"),
            deviceLocation: fields["device_location"] == nil ? nil : try decoded(fields["device_location"], "device_location"),
            now: Timestamp(microseconds: try int(fields, "now_microseconds")), spend: try decoded(fields["spend"], "spend"),
            availableMinor: try int(fields, "available_minor"), reviewRules: try decoded(fields["review_rules"], "review_rules"),
            reviewOutcome: try enumValue(try string(fields, "review_outcome"), "review_outcome"),
            webhookConfigured: try bool(fields, "webhook_configured"),
            customer: fields["customer_decision"] == nil ? nil : try decoded(fields["customer_decision"], "customer_decision"))
    }
}

/// A recorded decision decided again from its recorded inputs.
public struct PolicyReplay: Sendable, Encodable {
    public let object = "policy_replay"
    public let authorization: AuthorizationID
    public let agrees: Bool
    public let recorded: JSONValue
    public let replayed: JSONValue

    /// - Parameter recorded: the decision's `policy` as it was answered (`{decision, deciding_rule, rules}`).
    public init(authorization: AuthorizationID, inputs: JSONValue, recorded: JSONValue) throws(DomainError) {
        let decision = AuthorizationPolicy.evaluate(try PolicyInput(json: inputs))
        self.authorization = authorization
        self.recorded = recorded
        self.replayed = decision.json
        // Compared as written: the same bytes, not merely an equal decision.
        agrees = recorded.serialized == decision.serialized
    }
}
