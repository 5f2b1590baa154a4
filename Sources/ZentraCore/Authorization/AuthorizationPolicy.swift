/// The rules of an authorization, in the one order they are evaluated and recorded.
public enum PolicyRule: String, Sendable, Codable, Hashable, CaseIterable {
    case cardStatus = "card_status"
    case expiry
    case currency
    case channel
    case merchantCategory = "merchant_category"
    case country
    case geofence
    case perTransactionLimit = "per_transaction_limit"
    case dailyLimit = "daily_limit"
    case weeklyLimit = "weekly_limit"
    case monthlyLimit = "monthly_limit"
    case lifetimeLimit = "lifetime_limit"
    case availableFunds = "available_funds"
    case reviewRules = "review_rules"
    case customerDecision = "customer_decision"
}

public enum RuleOutcome: String, Sendable, Codable, Hashable {
    case pass
    case fail
    /// A program review rule matched.
    case review
    /// The rule has nothing to check here (no limit set, geofencing off, a location missing).
    case notApplicable = "not_applicable"
    /// Not asked because an earlier rule already decided (the customer's webhook after a decline).
    case skipped
    /// The customer's webhook must be asked before the decision is final.
    case pending
}

/// What a rule looked at. Scalars only, so evaluating allocates nothing but the result list.
public enum RuleInputs: Sendable, Hashable {
    case status(CardStatus)
    case expiry(month: Int, year: Int)
    case currency(card: Currency, requested: Currency)
    case channel(Channel)
    case merchantCategory(String)
    case country(String)
    case geofence(distanceKm: Double?, radiusKm: Int, channel: Channel, missing: GeofenceMissing?)
    case limit(amount: Int64, used: Int64, limit: Int64?)
    case funds(amount: Int64, available: Int64)
    case review(matchedRule: Int?)
    case customer(CustomerDecision?)
}

/// Which location a geofence check lacked.
public enum GeofenceMissing: String, Sendable, Codable, Hashable {
    case merchantLocation = "merchant_location"
    case deviceLocation = "device_location"
}

/// The answer of a program's real-time decisioning webhook, or its fallback.
public struct CustomerDecision: Sendable, Hashable, Codable {
    public enum Source: String, Sendable, Codable, Hashable {
        /// The customer's endpoint answered in time with a valid decision.
        case webhook
        /// No valid answer in time: the program's fallback decided.
        case fallback
    }

    public let decision: ReviewOutcome
    public let source: Source
    public let latencyMs: Int
    /// Why the fallback was used (`timeout`, `http_503`, `invalid_response`, `connection_failed`).
    public let failure: String?

    public init(decision: ReviewOutcome, source: Source, latencyMs: Int, failure: String? = nil) {
        self.decision = decision
        self.source = source
        self.latencyMs = latencyMs
        self.failure = failure
    }
}

public struct RuleResult: Sendable, Hashable {
    public let rule: PolicyRule
    public let outcome: RuleOutcome
    public let inputs: RuleInputs

    public init(_ rule: PolicyRule, _ outcome: RuleOutcome, _ inputs: RuleInputs) {
        self.rule = rule
        self.outcome = outcome
        self.inputs = inputs
    }
}

/// The card as policy sees it.
public struct CardPolicySnapshot: Sendable, Hashable {
    public var status: CardStatus
    public var expMonth: Int
    public var expYear: Int
    public var currency: Currency
    public var controls: SpendControls
    public var geofenceEnabled: Bool
    public var geofenceRadiusKm: Int

    public init(status: CardStatus, expMonth: Int, expYear: Int, currency: Currency, controls: SpendControls,
                geofenceEnabled: Bool, geofenceRadiusKm: Int) {
        self.status = status
        self.expMonth = expMonth
        self.expYear = expYear
        self.currency = currency
        self.controls = controls
        self.geofenceEnabled = geofenceEnabled
        self.geofenceRadiusKm = geofenceRadiusKm
    }
}

/// Everything a decision depends on. The shell reads it (under the card's row lock); the core decides.
public struct PolicyInput: Sendable, Hashable {
    public var card: CardPolicySnapshot
    /// What this request adds: the whole amount of a new authorization, the added amount of an increment.
    public var amount: Money
    /// The authorization's amount after this request; what the per-transaction limit and
    /// `amount_over` review rules compare.
    public var transactionTotalMinor: Int64
    public var merchant: Merchant
    public var channel: Channel
    public var deviceLocation: GeoPoint?
    /// The decision's instant (expiry compares its UTC month with the card's).
    public var now: Timestamp
    public var spend: SpendUsage
    public var availableMinor: Int64
    public var reviewRules: [ReviewRule]
    public var reviewOutcome: ReviewOutcome
    public var webhookConfigured: Bool
    public var customer: CustomerDecision?

    public init(card: CardPolicySnapshot, amount: Money, transactionTotalMinor: Int64, merchant: Merchant, channel: Channel,
                deviceLocation: GeoPoint?, now: Timestamp, spend: SpendUsage, availableMinor: Int64,
                reviewRules: [ReviewRule], reviewOutcome: ReviewOutcome, webhookConfigured: Bool, customer: CustomerDecision?) {
        self.card = card
        self.amount = amount
        self.transactionTotalMinor = transactionTotalMinor
        self.merchant = merchant
        self.channel = channel
        self.deviceLocation = deviceLocation
        self.now = now
        self.spend = spend
        self.availableMinor = availableMinor
        self.reviewRules = reviewRules
        self.reviewOutcome = reviewOutcome
        self.webhookConfigured = webhookConfigured
        self.customer = customer
    }
}

/// The outcome of one evaluation.
public struct PolicyDecision: Sendable, Hashable {
    public let status: AuthorizationStatus
    public let declineReason: DeclineReason?
    /// ISO 8583 field 39 toward the network.
    public let responseCode: String
    /// The rule that decided: the first that failed, the review rule, or the customer's decision.
    public let decidingRule: PolicyRule?
    public let rules: [RuleResult]

    /// True when every rule passed and only the customer's webhook is left to ask.
    public var needsCustomerDecision: Bool { rules.last?.outcome == .pending }
    /// Approved and review decisions hold the amount (a review holds whatever the network hears, so
    /// an operator's approval can never overspend).
    public var holds: Bool { status.holdsFunds }
}

/// The pure authorization policy: the same input always gives the same decision; no I/O, no clock.
///
/// Every rule is evaluated and recorded in `PolicyRule` order, so the trace shows all that was true
/// of the request; the first rule that fails decides. Review rules and the customer's webhook only
/// decide when no rule failed, and the webhook is asked only for what would otherwise be approved.
public enum AuthorizationPolicy {
    public static func evaluate(_ input: PolicyInput) -> PolicyDecision {
        var rules: [RuleResult] = []
        rules.reserveCapacity(PolicyRule.allCases.count)
        var declined: (DeclineReason, PolicyRule)?
        func record(_ rule: PolicyRule, _ outcome: RuleOutcome, _ inputs: RuleInputs, decline reason: DeclineReason) {
            rules.append(RuleResult(rule, outcome, inputs))
            if outcome == .fail, declined == nil { declined = (reason, rule) }
        }
        func record(_ rule: PolicyRule, _ result: (RuleOutcome, RuleInputs), decline reason: DeclineReason) {
            record(rule, result.0, result.1, decline: reason)
        }
        let card = input.card
        let controls = card.controls

        switch card.status {
        case .active: record(.cardStatus, .pass, .status(card.status), decline: .cardLocked)
        case .locked: record(.cardStatus, .fail, .status(card.status), decline: .cardLocked)
        case .closed: record(.cardStatus, .fail, .status(card.status), decline: .cardClosed)
        }
        let (year, month, _) = Timestamp.civil(fromDays: WindowKeys.floorDivide(input.now.microseconds, 86_400_000_000))
        let expired = (Int(year), Int(month)) > (card.expYear, card.expMonth)
        record(.expiry, expired ? .fail : .pass, .expiry(month: card.expMonth, year: card.expYear), decline: .cardExpired)
        record(.currency, input.amount.currency == card.currency ? .pass : .fail,
               .currency(card: card.currency, requested: input.amount.currency), decline: .currencyMismatch)

        let channel = input.channel.rawValue
        let channelAllowed = (controls.allowedChannels?.contains(channel) ?? true) && !(controls.blockedChannels?.contains(channel) ?? false)
        record(.channel, channelAllowed ? .pass : .fail, .channel(input.channel), decline: .channelBlocked)

        let mcc = input.merchant.mcc
        let mccAllowed = (controls.allowedMccs.map { matches($0, mcc) } ?? true) && !(controls.blockedMccs.map { matches($0, mcc) } ?? false)
        record(.merchantCategory, mccAllowed ? .pass : .fail, .merchantCategory(mcc), decline: .merchantCategoryBlocked)

        let countryAllowed = controls.allowedCountries?.contains(input.merchant.country) ?? true
        record(.country, countryAllowed ? .pass : .fail, .country(input.merchant.country), decline: .countryBlocked)

        record(.geofence, geofence(input), decline: .geofenceMismatch)

        let amount = input.amount.minor
        record(.perTransactionLimit, limit(input.transactionTotalMinor, used: 0, controls.perTransactionMinor), decline: .perTransactionLimit)
        record(.dailyLimit, limit(amount, used: input.spend.dailyMinor, controls.dailyMinor), decline: .dailyLimit)
        record(.weeklyLimit, limit(amount, used: input.spend.weeklyMinor, controls.weeklyMinor), decline: .weeklyLimit)
        record(.monthlyLimit, limit(amount, used: input.spend.monthlyMinor, controls.monthlyMinor), decline: .monthlyLimit)
        record(.lifetimeLimit, limit(amount, used: input.spend.lifetimeMinor, controls.lifetimeMinor), decline: .lifetimeLimit)
        record(.availableFunds, amount <= input.availableMinor ? .pass : .fail,
               .funds(amount: amount, available: input.availableMinor), decline: .insufficientFunds)

        let matchedReview = input.reviewRules.firstIndex { rule in matches(rule, input) }
        rules.append(RuleResult(.reviewRules, matchedReview == nil ? (input.reviewRules.isEmpty ? .notApplicable : .pass) : .review,
                                .review(matchedRule: matchedReview)))

        if let (reason, rule) = declined {
            rules.append(RuleResult(.customerDecision, input.webhookConfigured ? .skipped : .notApplicable, .customer(nil)))
            return PolicyDecision(status: .declined, declineReason: reason, responseCode: reason.responseCode, decidingRule: rule, rules: rules)
        }
        if matchedReview != nil {
            rules.append(RuleResult(.customerDecision, input.webhookConfigured ? .skipped : .notApplicable, .customer(nil)))
            let code = input.reviewOutcome == .approve ? DeclineReason.approvedResponseCode : DeclineReason.reviewDeclined.responseCode
            return PolicyDecision(status: .review, declineReason: nil, responseCode: code, decidingRule: .reviewRules, rules: rules)
        }
        guard input.webhookConfigured else {
            rules.append(RuleResult(.customerDecision, .notApplicable, .customer(nil)))
            return PolicyDecision(status: .approved, declineReason: nil, responseCode: DeclineReason.approvedResponseCode,
                                  decidingRule: nil, rules: rules)
        }
        guard let customer = input.customer else {
            rules.append(RuleResult(.customerDecision, .pending, .customer(nil)))
            return PolicyDecision(status: .approved, declineReason: nil, responseCode: DeclineReason.approvedResponseCode,
                                  decidingRule: .customerDecision, rules: rules)
        }
        switch customer.decision {
        case .approve:
            rules.append(RuleResult(.customerDecision, .pass, .customer(customer)))
            return PolicyDecision(status: .approved, declineReason: nil, responseCode: DeclineReason.approvedResponseCode,
                                  decidingRule: nil, rules: rules)
        case .decline:
            rules.append(RuleResult(.customerDecision, .fail, .customer(customer)))
            return PolicyDecision(status: .declined, declineReason: .customerDeclined, responseCode: DeclineReason.customerDeclined.responseCode,
                                  decidingRule: .customerDecision, rules: rules)
        }
    }

    /// Geofencing applies to physical channels of cards that enable it. When the merchant's or the
    /// device's location is missing the rule cannot show a mismatch: it is not applicable, and the
    /// trace names the missing location (docs/authorizations.md, "Geofencing").
    static func geofence(_ input: PolicyInput) -> (RuleOutcome, RuleInputs) {
        let radius = input.card.geofenceRadiusKm
        guard input.card.geofenceEnabled, input.channel.isPhysical else {
            return (.notApplicable, .geofence(distanceKm: nil, radiusKm: radius, channel: input.channel, missing: nil))
        }
        guard let merchant = input.merchant.location else {
            return (.notApplicable, .geofence(distanceKm: nil, radiusKm: radius, channel: input.channel, missing: .merchantLocation))
        }
        guard let device = input.deviceLocation else {
            return (.notApplicable, .geofence(distanceKm: nil, radiusKm: radius, channel: input.channel, missing: .deviceLocation))
        }
        let distance = merchant.distanceKm(to: device)
        return (distance <= Double(radius) ? .pass : .fail,
                .geofence(distanceKm: distance, radiusKm: radius, channel: input.channel, missing: nil))
    }

    static func limit(_ amount: Int64, used: Int64, _ limit: Int64?) -> (RuleOutcome, RuleInputs) {
        guard let limit else { return (.notApplicable, .limit(amount: amount, used: used, limit: nil)) }
        // used + amount <= limit, written so that it cannot overflow.
        let fits = used <= limit && amount <= limit - used
        return (fits ? .pass : .fail, .limit(amount: amount, used: used, limit: limit))
    }

    /// An MCC list (codes and group names) contains `mcc`.
    static func matches(_ entries: [String], _ mcc: String) -> Bool {
        entries.contains { entry in entry == mcc || (MerchantCategoryGroups.groups[entry]?.contains(mcc) ?? false) }
    }

    static func matches(_ rule: ReviewRule, _ input: PolicyInput) -> Bool {
        switch ReviewRule.Kind(rawValue: rule.type) {
        case .amountOver: rule.amountMinor.map { input.transactionTotalMinor > $0 } ?? false
        case .mcc: rule.mccs.map { matches($0, input.merchant.mcc) } ?? false
        case .country: rule.countries?.contains(input.merchant.country) ?? false
        case nil: false
        }
    }
}
