/// Authorizations as JSON values, written by hand: the authorization path renders its answer, its
/// event, its stored trace and evidence on every decision, and going through `JSONEncoder` cost more
/// than the decision itself. `Codable` stays for reading back; a test holds the two in step.
extension JSONValue {
    static func optional(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
    static func strings(_ values: [String]) -> JSONValue { .array(values.map(JSONValue.string)) }
}

extension Merchant {
    public var json: JSONValue {
        var fields: [String: JSONValue] = ["id": .string(id), "name": .string(name), "mcc": .string(mcc), "country": .string(country)]
        if let city { fields["city"] = .string(city) }
        if let lat { fields["lat"] = .double(lat) }
        if let lon { fields["lon"] = .double(lon) }
        return .object(fields)
    }
}

extension GeoPoint {
    public var json: JSONValue { .object(["lat": .double(lat), "lon": .double(lon)]) }
}

extension SpendUsage {
    public var json: JSONValue {
        .object(["daily_minor": .int(dailyMinor), "weekly_minor": .int(weeklyMinor), "monthly_minor": .int(monthlyMinor),
                 "lifetime_minor": .int(lifetimeMinor)])
    }
}

extension SpendControls {
    public var json: JSONValue {
        var fields: [String: JSONValue] = [:]
        let limits: [(String, Int64?)] = [
            ("per_transaction_minor", perTransactionMinor), ("daily_minor", dailyMinor), ("weekly_minor", weeklyMinor),
            ("monthly_minor", monthlyMinor), ("lifetime_minor", lifetimeMinor),
        ]
        for (key, value) in limits { if let value { fields[key] = .int(value) } }
        let lists: [(String, [String]?)] = [
            ("allowed_mccs", allowedMccs), ("blocked_mccs", blockedMccs), ("allowed_channels", allowedChannels),
            ("blocked_channels", blockedChannels), ("allowed_countries", allowedCountries),
        ]
        for (key, value) in lists { if let value { fields[key] = .strings(value) } }
        return .object(fields)
    }
}

extension ReviewRule {
    public var json: JSONValue {
        var fields: [String: JSONValue] = ["type": .string(type)]
        if let amountMinor { fields["amount_minor"] = .int(amountMinor) }
        if let mccs { fields["mccs"] = .strings(mccs) }
        if let countries { fields["countries"] = .strings(countries) }
        return .object(fields)
    }
}

extension CustomerDecision {
    public var json: JSONValue {
        var fields: [String: JSONValue] = ["decision": .string(decision.rawValue), "source": .string(source.rawValue),
                                           "latency_ms": .int(Int64(latencyMs))]
        if let failure { fields["failure"] = .string(failure) }
        return .object(fields)
    }
}

extension RuleResult {
    /// `{"rule": "daily_limit", "result": "fail", "inputs": {"amount_minor": 500, "used_minor": 9800, "limit_minor": 10000}}`
    public var json: JSONValue {
        var inputs: [String: JSONValue] = [:]
        switch self.inputs {
        case .status(let status): inputs["status"] = .string(status.rawValue)
        case .expiry(let month, let year): inputs = ["exp_month": .int(Int64(month)), "exp_year": .int(Int64(year))]
        case .currency(let card, let requested): inputs = ["card_currency": .string(card.code), "currency": .string(requested.code)]
        case .channel(let channel): inputs["channel"] = .string(channel.rawValue)
        case .merchantCategory(let mcc): inputs["mcc"] = .string(mcc)
        case .country(let country): inputs["country"] = .string(country)
        case .geofence(let distance, let radius, let channel, let missing):
            inputs = ["channel": .string(channel.rawValue), "radius_km": .int(Int64(radius))]
            // Kilometres to the metre: the same decision renders the same bytes everywhere.
            if let distance { inputs["distance_km"] = .double((distance * 1000).rounded() / 1000) }
            if let missing { inputs["missing"] = .string(missing.rawValue) }
        case .limit(let amount, let used, let limit):
            inputs = ["amount_minor": .int(amount), "used_minor": .int(used)]
            if let limit { inputs["limit_minor"] = .int(limit) }
        case .funds(let amount, let available): inputs = ["amount_minor": .int(amount), "available_minor": .int(available)]
        case .review(let matched): if let matched { inputs["matched_review_rule"] = .int(Int64(matched)) }
        case .customer(let customer): if let customer { inputs = customer.json.objectFields }
        }
        return .object(["rule": .string(rule.rawValue), "result": .string(outcome.rawValue), "inputs": .object(inputs)])
    }
}

extension PolicyDecision {
    /// `{"decision": ..., "deciding_rule": ..., "rules": [...]}`, as answers and evidence show it.
    public var json: JSONValue {
        .object(["decision": .string(status.rawValue), "deciding_rule": .optional(decidingRule?.rawValue),
                 "rules": .array(rules.map(\.json))])
    }
}

extension AuthorizationHold {
    public var json: JSONValue {
        .object(["amount_minor": .int(amountMinor), "currency": .string(currency.code), "journal_entry": .string(journalEntry.rawValue),
                 "status": .string(status.rawValue), "expires_at": .string(expiresAt.description)])
    }
}

extension AuthorizationReview {
    public var json: JSONValue {
        var fields: [String: JSONValue] = ["network_outcome": .string(networkOutcome.rawValue)]
        if let decision { fields["decision"] = .string(decision.rawValue) }
        if let note { fields["note"] = .string(note) }
        if let decidedBy { fields["decided_by"] = .string(decidedBy) }
        if let decidedAt { fields["decided_at"] = .string(decidedAt.description) }
        return .object(fields)
    }
}

extension AuthorizationAdjustment {
    public var json: JSONValue {
        var fields: [String: JSONValue] = ["type": .string(type.rawValue), "amount_minor": .int(amountMinor), "status": .string(status),
                                           "created_at": .string(createdAt.description)]
        if let declineReason { fields["decline_reason"] = .string(declineReason.rawValue) }
        if let responseCode { fields["response_code"] = .string(responseCode) }
        if let policy { fields["policy"] = policy }
        if let journalEntry { fields["journal_entry"] = .string(journalEntry.rawValue) }
        return .object(fields)
    }
}

extension Authorization {
    public var json: JSONValue {
        var fields: [String: JSONValue] = [
            "id": .string(id.rawValue), "object": .string(object), "card": .string(card.rawValue), "last4": .string(last4),
            "status": .string(status.rawValue), "amount_minor": .int(amountMinor), "currency": .string(currency.code),
            "merchant": merchant.json, "channel": .string(channel.rawValue), "network_reference": .string(networkReference),
            "response_code": .string(responseCode), "policy": policy, "available_minor": .int(availableMinor),
            "adjustments": .array(adjustments.map(\.json)), "created_at": .string(createdAt.description),
            "updated_at": .string(updatedAt.description),
        ]
        if let deviceLocation { fields["device_location"] = deviceLocation.json }
        if let declineReason { fields["decline_reason"] = .string(declineReason.rawValue) }
        if let hold { fields["hold"] = hold.json }
        if let review { fields["review"] = review.json }
        if let customerDecision { fields["customer_decision"] = customerDecision.json }
        return .object(fields)
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
