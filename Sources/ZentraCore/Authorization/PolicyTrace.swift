/// How a rule result reads in answers and evidence:
/// `{"rule": "daily_limit", "result": "fail", "inputs": {"amount_minor": 500, "used_minor": 9800, "limit_minor": 10000}}`.
extension RuleResult: Encodable {
    private enum Key: String, CodingKey {
        case rule, result, inputs
        case status, expMonth = "exp_month", expYear = "exp_year", cardCurrency = "card_currency", currency
        case channel, mcc, country, distanceKm = "distance_km", radiusKm = "radius_km", missing
        case amountMinor = "amount_minor", usedMinor = "used_minor", limitMinor = "limit_minor", availableMinor = "available_minor"
        case matchedReviewRule = "matched_review_rule", decision, source, latencyMs = "latency_ms", failure
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(rule, forKey: .rule)
        try container.encode(outcome, forKey: .result)
        var inputs = container.nestedContainer(keyedBy: Key.self, forKey: .inputs)
        switch self.inputs {
        case .status(let status):
            try inputs.encode(status, forKey: .status)
        case .expiry(let month, let year):
            try inputs.encode(month, forKey: .expMonth)
            try inputs.encode(year, forKey: .expYear)
        case .currency(let card, let requested):
            try inputs.encode(card, forKey: .cardCurrency)
            try inputs.encode(requested, forKey: .currency)
        case .channel(let channel):
            try inputs.encode(channel, forKey: .channel)
        case .merchantCategory(let mcc):
            try inputs.encode(mcc, forKey: .mcc)
        case .country(let country):
            try inputs.encode(country, forKey: .country)
        case .geofence(let distance, let radius, let channel, let missing):
            try inputs.encode(channel, forKey: .channel)
            try inputs.encode(radius, forKey: .radiusKm)
            // Kilometres to the metre: evidence must render the same bytes on every platform.
            try inputs.encodeIfPresent(distance.map { ($0 * 1000).rounded() / 1000 }, forKey: .distanceKm)
            try inputs.encodeIfPresent(missing, forKey: .missing)
        case .limit(let amount, let used, let limit):
            try inputs.encode(amount, forKey: .amountMinor)
            try inputs.encode(used, forKey: .usedMinor)
            try inputs.encodeIfPresent(limit, forKey: .limitMinor)
        case .funds(let amount, let available):
            try inputs.encode(amount, forKey: .amountMinor)
            try inputs.encode(available, forKey: .availableMinor)
        case .review(let matched):
            try inputs.encodeIfPresent(matched, forKey: .matchedReviewRule)
        case .customer(let customer):
            if let customer {
                try inputs.encode(customer.decision, forKey: .decision)
                try inputs.encode(customer.source, forKey: .source)
                try inputs.encode(customer.latencyMs, forKey: .latencyMs)
                try inputs.encodeIfPresent(customer.failure, forKey: .failure)
            }
        }
    }
}
