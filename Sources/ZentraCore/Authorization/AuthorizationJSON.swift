/// Authorizations as JSON, written straight into bytes by a `JSONWriter` (keys in sorted order):
/// the decision path renders an answer on every request, and building a tree of values first cost
/// more than the decision itself. Each layout is written down once, here: `json` is read back from
/// the writer's bytes and `Codable` encodes that value (the end of this file), so lists, evidence
/// packets and parents that embed a model all show the writer's layout. The synthesized decoders
/// read stored rows back; a round-trip test holds them to these layouts.
extension JSONValue {
    static func optional(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
    static func strings(_ values: [String]) -> JSONValue { .array(values.map(JSONValue.string)) }
}

extension Merchant: JSONWritable {
    public func write(to w: inout JSONWriter) {
        w.object { w in
            w.field("city", city)
            w.field("country", country)
            w.field("id", id)
            w.field("lat", lat)
            w.field("lon", lon)
            w.field("mcc", mcc)
            w.field("name", name)
        }
    }
}

extension GeoPoint: JSONWritable {
    public func write(to w: inout JSONWriter) {
        w.object { w in
            w.field("lat", lat)
            w.field("lon", lon)
        }
    }
}

extension SpendUsage: JSONWritable {
    public func write(to w: inout JSONWriter) {
        w.object { w in
            w.field("daily_minor", dailyMinor)
            w.field("lifetime_minor", lifetimeMinor)
            w.field("monthly_minor", monthlyMinor)
            w.field("weekly_minor", weeklyMinor)
        }
    }
}

extension SpendControls: JSONWritable {
    public func write(to w: inout JSONWriter) {
        w.object { w in
            w.field("allowed_channels", strings: allowedChannels)
            w.field("allowed_countries", strings: allowedCountries)
            w.field("allowed_mccs", strings: allowedMccs)
            w.field("blocked_channels", strings: blockedChannels)
            w.field("blocked_mccs", strings: blockedMccs)
            w.field("daily_minor", dailyMinor)
            w.field("lifetime_minor", lifetimeMinor)
            w.field("monthly_minor", monthlyMinor)
            w.field("per_transaction_minor", perTransactionMinor)
            w.field("weekly_minor", weeklyMinor)
        }
    }
}

extension ReviewRule: JSONWritable {
    public func write(to w: inout JSONWriter) {
        w.object { w in
            w.field("amount_minor", amountMinor)
            w.field("countries", strings: countries)
            w.field("mccs", strings: mccs)
            w.field("type", type)
        }
    }
}

extension CustomerDecision: JSONWritable {
    public func write(to w: inout JSONWriter) {
        w.object { w in writeFields(to: &w) }
    }

    /// The fields alone: a rule's inputs carry them too.
    func writeFields(to w: inout JSONWriter) {
        w.field("decision", decision.rawValue)
        w.field("failure", failure)
        w.field("latency_ms", Int64(latencyMs))
        w.field("source", source.rawValue)
    }
}

extension RuleResult: JSONWritable {
    /// `{"inputs": {"amount_minor": 500, "limit_minor": 10000, "used_minor": 9800}, "result": "fail", "rule": "daily_limit"}`
    public func write(to w: inout JSONWriter) {
        w.object { w in
            w.key("inputs")
            w.object { w in
                switch inputs {
                case .status(let status): w.field("status", status.rawValue)
                case .expiry(let month, let year):
                    w.field("exp_month", Int64(month))
                    w.field("exp_year", Int64(year))
                case .currency(let card, let requested):
                    w.field("card_currency", card.code)
                    w.field("currency", requested.code)
                case .channel(let channel): w.field("channel", channel.rawValue)
                case .merchantCategory(let mcc): w.field("mcc", mcc)
                case .country(let country): w.field("country", country)
                case .geofence(let distance, let radius, let channel, let missing):
                    w.field("channel", channel.rawValue)
                    // Kilometres to the metre: the same decision renders the same bytes everywhere.
                    w.field("distance_km", distance.map { ($0 * 1000).rounded() / 1000 })
                    w.field("missing", missing?.rawValue)
                    w.field("radius_km", Int64(radius))
                case .limit(let amount, let used, let limit):
                    w.field("amount_minor", amount)
                    w.field("limit_minor", limit)
                    w.field("used_minor", used)
                case .funds(let amount, let available):
                    w.field("amount_minor", amount)
                    w.field("available_minor", available)
                case .review(let matched): w.field("matched_review_rule", matched.map(Int64.init))
                case .customer(let customer): customer?.writeFields(to: &w)
                }
            }
            w.field("result", outcome.rawValue)
            w.field("rule", rule.rawValue)
        }
    }
}

extension PolicyDecision: JSONWritable {
    /// `{"deciding_rule": ..., "decision": ..., "rules": [...]}`, as answers and evidence show it.
    public func write(to w: inout JSONWriter) {
        w.object { w in
            w.key("deciding_rule")
            if let decidingRule { w.string(decidingRule.rawValue) } else { w.null() }
            w.field("decision", status.rawValue)
            w.key("rules")
            w.array(rules) { w, rule in rule.write(to: &w) }
        }
    }
}

extension AuthorizationHold: JSONWritable {
    public func write(to w: inout JSONWriter) {
        w.object { w in
            w.field("amount_minor", amountMinor)
            w.field("currency", currency.code)
            w.field("expires_at", expiresAt.description)
            w.field("journal_entry", journalEntry.rawValue)
            w.field("status", status.rawValue)
        }
    }
}

extension AuthorizationReview: JSONWritable {
    public func write(to w: inout JSONWriter) {
        w.object { w in
            w.field("decided_at", decidedAt?.description)
            w.field("decided_by", decidedBy)
            w.field("decision", decision?.rawValue)
            w.field("network_outcome", networkOutcome.rawValue)
            w.field("note", note)
        }
    }
}

extension AuthorizationAdjustment: JSONWritable {
    public func write(to w: inout JSONWriter) {
        w.object { w in
            w.field("amount_minor", amountMinor)
            w.field("available_after_minor", availableAfterMinor)
            w.field("created_at", createdAt.description)
            w.field("decline_reason", declineReason?.rawValue)
            w.field("journal_entry", journalEntry?.rawValue)
            if let policy {
                w.key("policy")
                w.value(policy)
            }
            w.field("response_code", responseCode)
            w.field("status", status.rawValue)
            w.field("type", type.rawValue)
        }
    }
}

extension PolicyTrace: JSONWritable {
    public func write(to w: inout JSONWriter) {
        switch self {
        case .decided(let decision): decision.write(to: &w)
        case .stored(let value): w.value(value)
        }
    }
}

extension Authorization: JSONWritable {
    public func write(to w: inout JSONWriter) {
        w.object { w in
            w.key("adjustments")
            w.array(adjustments) { w, adjustment in adjustment.write(to: &w) }
            w.field("amount_minor", amountMinor)
            w.field("available_minor", availableMinor)
            w.field("card", card.rawValue)
            w.field("channel", channel.rawValue)
            w.field("created_at", createdAt.description)
            w.field("currency", currency.code)
            if let customerDecision {
                w.key("customer_decision")
                customerDecision.write(to: &w)
            }
            w.field("decline_reason", declineReason?.rawValue)
            if let deviceLocation {
                w.key("device_location")
                deviceLocation.write(to: &w)
            }
            if let hold {
                w.key("hold")
                hold.write(to: &w)
            }
            w.field("id", id.rawValue)
            w.field("last4", last4)
            w.key("merchant")
            merchant.write(to: &w)
            w.field("network_reference", networkReference)
            w.field("object", object)
            w.key("policy")
            policy.write(to: &w)
            w.field("response_code", responseCode)
            if let review {
                w.key("review")
                review.write(to: &w)
            }
            w.field("source", source?.rawValue)
            w.field("status", status.rawValue)
            w.field("updated_at", updatedAt.description)
        }
    }
}

extension JSONValue {
    public var objectFields: [String: JSONValue] {
        if case .object(let fields) = self { return fields }
        return [:]
    }

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }
}

// The one encoding of each model: what its writer writes.
extension Merchant { public func encode(to encoder: any Encoder) throws { try json.encode(to: encoder) } }
extension GeoPoint { public func encode(to encoder: any Encoder) throws { try json.encode(to: encoder) } }
extension SpendUsage { public func encode(to encoder: any Encoder) throws { try json.encode(to: encoder) } }
extension SpendControls { public func encode(to encoder: any Encoder) throws { try json.encode(to: encoder) } }
extension ReviewRule { public func encode(to encoder: any Encoder) throws { try json.encode(to: encoder) } }
extension CustomerDecision { public func encode(to encoder: any Encoder) throws { try json.encode(to: encoder) } }
extension AuthorizationHold { public func encode(to encoder: any Encoder) throws { try json.encode(to: encoder) } }
extension AuthorizationReview { public func encode(to encoder: any Encoder) throws { try json.encode(to: encoder) } }
extension AuthorizationAdjustment { public func encode(to encoder: any Encoder) throws { try json.encode(to: encoder) } }
extension Authorization { public func encode(to encoder: any Encoder) throws { try json.encode(to: encoder) } }
