/// The outcome of each rule of a decision, one letter a rule in `PolicyRule` order: what a stored
/// decision keeps of its trace. The trace itself, with every rule's inputs, is rendered again from
/// the decision's inputs; the letters are what a replay holds that rendering to.
public struct RuleOutcomes: Sendable, Hashable {
    public let letters: String

    public init(_ rules: [RuleResult]) {
        letters = String(rules.map(\.outcome.letter))
    }

    /// Stored letters read back; nil when one is not a known outcome.
    public init?(stored: String) {
        guard stored.allSatisfy({ RuleOutcome(letter: $0) != nil }) else { return nil }
        letters = stored
    }

    public var outcomes: [RuleOutcome] { letters.compactMap(RuleOutcome.init(letter:)) }

    /// The decision these outcomes make: the first failed rule declines, else a matched review rule
    /// puts it in review, else it is approved.
    public var status: AuthorizationStatus {
        let outcomes = outcomes
        if outcomes.contains(.fail) { return .declined }
        return outcomes.contains(.review) ? .review : .approved
    }

    /// The rule that decided: the first that failed, else the review rules when one matched.
    public var decidingRule: PolicyRule? {
        for (rule, outcome) in zip(PolicyRule.allCases, outcomes) where outcome == .fail { return rule }
        return outcomes.contains(.review) ? .reviewRules : nil
    }
}

extension RuleOutcome {
    var letter: Character {
        switch self {
        case .pass: "p"
        case .fail: "f"
        case .review: "r"
        case .notApplicable: "n"
        case .skipped: "s"
        case .pending: "w"
        }
    }

    init?(letter: Character) {
        switch letter {
        case "p": self = .pass
        case "f": self = .fail
        case "r": self = .review
        case "n": self = .notApplicable
        case "s": self = .skipped
        case "w": self = .pending
        default: return nil
        }
    }
}

/// A first decision as it is stored: what it needs to be decided again, not its renderings. The
/// card version and program it saw, the request, the spend and funds before it, its instant, the
/// customer's answer, and each rule's outcome. The answer, the trace, the evidence packet and the
/// event body are rendered from it, by the policy of `policyVersion`.
public struct DecisionRecord: Sendable, Hashable {
    /// The policy this release decides with. A release that changes what the policy decides keeps
    /// the earlier one for the decisions that name it, so evidence never drifts with the code.
    public static let policyVersion: Int64 = 1
    /// How this release renders a record: 0 names the decisions of schema 8, whose renderings are
    /// stored; 1 renders no `source` and no network message, and a review answered declined held
    /// its amount; 2 renders both, and such a review holds nothing.
    public static let renderVersion: Int64 = 2

    public let id: AuthorizationID
    public let card: CardVersion
    /// Programs do not change; the program a decision saw is the program.
    public let program: CardProgram
    public let amount: Money
    public let merchant: Merchant
    public let channel: Channel
    public let deviceLocation: GeoPoint?
    public let networkReference: String
    public let receivedAt: Timestamp
    public let decidedAt: Timestamp
    public let timeZone: String
    public let windows: WindowKeys
    public let spendBefore: SpendUsage
    public let availableBeforeMinor: Int64
    public let customerDecision: CustomerDecision?
    public let outcomes: RuleOutcomes
    /// The hold's entry and expiry, when the decision holds money.
    public let holdJournalEntry: JournalEntryID?
    public let expiresAt: Timestamp?
    /// The card network's message, when the request came over ISO 8583.
    public let network: NetworkMessage?
    public let policyVersion: Int64
    public let renderVersion: Int64

    public init(id: AuthorizationID, card: CardVersion, program: CardProgram, amount: Money, merchant: Merchant, channel: Channel,
                deviceLocation: GeoPoint?, networkReference: String, receivedAt: Timestamp, decidedAt: Timestamp, timeZone: String,
                windows: WindowKeys, spendBefore: SpendUsage, availableBeforeMinor: Int64, customerDecision: CustomerDecision?,
                outcomes: RuleOutcomes, holdJournalEntry: JournalEntryID?, expiresAt: Timestamp?, network: NetworkMessage? = nil,
                policyVersion: Int64 = DecisionRecord.policyVersion, renderVersion: Int64 = DecisionRecord.renderVersion) {
        self.id = id
        self.card = card
        self.program = program
        self.amount = amount
        self.merchant = merchant
        self.channel = channel
        self.deviceLocation = deviceLocation
        self.networkReference = networkReference
        self.receivedAt = receivedAt
        self.decidedAt = decidedAt
        self.timeZone = timeZone
        self.windows = windows
        self.spendBefore = spendBefore
        self.availableBeforeMinor = availableBeforeMinor
        self.customerDecision = customerDecision
        self.outcomes = outcomes
        self.holdJournalEntry = holdJournalEntry
        self.expiresAt = expiresAt
        self.network = network
        self.policyVersion = policyVersion
        self.renderVersion = renderVersion
    }

    /// Exactly what the policy core was given.
    public var policyInput: PolicyInput {
        PolicyInput(card: card.policySnapshot, amount: amount, transactionTotalMinor: amount.minor, merchant: merchant, channel: channel,
                    deviceLocation: deviceLocation, now: decidedAt, spend: spendBefore, availableMinor: availableBeforeMinor,
                    reviewRules: program.reviewRules, reviewOutcome: program.reviewOutcome,
                    webhookConfigured: program.authorizationWebhook != nil, customer: customerDecision)
    }

    /// The decision again, by the policy this record names.
    public func decide() throws(DomainError) -> PolicyDecision {
        guard policyVersion == Self.policyVersion else {
            throw DomainError.invariantViolated("authorization \(id) names policy version \(policyVersion), which this release does not have")
        }
        return AuthorizationPolicy.evaluate(policyInput)
    }

    /// What a decision came to. Usually the policy's decision, except that a review the program
    /// answers declined holds nothing (the network was told no; from render version 2); for a card network's advice of a
    /// decision it made in stand-in, the network's, as it was made: an approval holds the amount
    /// (what the card has of it: the rest, once cleared, is owed by the cardholder as for any
    /// over-clear) and goes to review when the policy would not have approved; a decline holds
    /// nothing. The policy's own trace stays as the policy decided.
    public struct Outcome: Sendable, Hashable {
        public let status: AuthorizationStatus
        public let declineReason: DeclineReason?
        public let responseCode: String
        /// What the decision holds; 0 when nothing.
        public let heldMinor: Int64
        /// What the network was told, for a decision in review.
        public let networkOutcome: ReviewOutcome

        public var holds: Bool { heldMinor > 0 }

        public init(_ decision: PolicyDecision, amount: Money, availableBeforeMinor: Int64, reviewOutcome: ReviewOutcome,
                    network: NetworkMessage?, renderVersion: Int64 = DecisionRecord.renderVersion) {
            guard let standIn = network?.standInResponseCode else {
                status = decision.status
                declineReason = decision.declineReason
                responseCode = decision.responseCode
                let declinedToTheNetwork = decision.status == .review && reviewOutcome == .decline && renderVersion >= 2
                heldMinor = decision.holds && !declinedToTheNetwork ? amount.minor : 0
                networkOutcome = reviewOutcome
                return
            }
            responseCode = standIn
            if standIn == DeclineReason.approvedResponseCode {
                status = decision.status == .approved ? .approved : .review
                declineReason = nil
                heldMinor = min(amount.minor, max(0, availableBeforeMinor))
                networkOutcome = .approve
            } else {
                status = .declined
                declineReason = decision.status == .declined ? decision.declineReason : .networkDeclined
                heldMinor = 0
                networkOutcome = .decline
            }
        }
    }

    public func outcome(_ decision: PolicyDecision) -> Outcome {
        Outcome(decision, amount: amount, availableBeforeMinor: availableBeforeMinor, reviewOutcome: program.reviewOutcome, network: network,
                renderVersion: renderVersion)
    }

    /// The authorization as the decision answered it: the answer itself, and the body of the event
    /// the decision emitted.
    public func answer(_ decision: PolicyDecision) -> Authorization {
        let outcome = outcome(decision)
        let hold = outcome.holds ? holdJournalEntry.map { entry in
            AuthorizationHold(amountMinor: outcome.heldMinor, currency: amount.currency, journalEntry: entry, status: .held,
                              expiresAt: expiresAt ?? decidedAt)
        } : nil
        return Authorization(
            id: id, card: card.card, last4: card.last4, status: outcome.status, amountMinor: amount.minor, currency: amount.currency,
            merchant: merchant, channel: channel, deviceLocation: deviceLocation, networkReference: networkReference,
            declineReason: outcome.declineReason, responseCode: outcome.responseCode, policy: .decided(decision), hold: hold,
            availableMinor: availableBeforeMinor - (hold?.amountMinor ?? 0),
            review: outcome.status == .review ? AuthorizationReview(networkOutcome: outcome.networkOutcome) : nil,
            customerDecision: customerDecision, adjustments: [], source: renderVersion >= 2 ? (network == nil ? .api : .iso8583) : nil,
            createdAt: decidedAt, updatedAt: decidedAt)
    }

    /// What the evidence packet shows of the decision: the card as it was, the windows and spend
    /// before, the funds before, the review rules, the policy's inputs, the timings, and the card
    /// network's message when there was one.
    public var evidence: JSONValue {
        var fields: [String: JSONValue] = [
            "card": card.evidenceJSON,
            "time_zone": .string(timeZone),
            "windows": .object(["day": .int(windows.day), "week": .int(windows.week), "month": .int(windows.month)]),
            "spend_before": spendBefore.json,
            "available_before_minor": .int(availableBeforeMinor),
            "review_rules": .array(program.reviewRules.map(\.json)),
            "policy_input": policyInput.json,
            "timings": .object([
                "received_at": .string(receivedAt.description), "decided_at": .string(decidedAt.description),
                "customer_decision_latency_ms": customerDecision.map { .int(Int64($0.latencyMs)) } ?? .null,
            ]),
        ]
        if let network { fields["network_message"] = network.json }
        return .object(fields)
    }

    /// The trace as stored: `decision`'s rules with the outcomes this record kept, and the decision
    /// and deciding rule those outcomes make. A replay compares it with the policy's trace.
    public func recordedPolicy(_ decision: PolicyDecision) -> JSONValue {
        let kept = outcomes.outcomes
        let rules = decision.rules.enumerated().map { index, result in
            RuleResult(result.rule, index < kept.count ? kept[index] : result.outcome, result.inputs).json
        }
        return .object(["decision": .string(outcomes.status.rawValue), "deciding_rule": .optional(outcomes.decidingRule?.rawValue),
                        "rules": .array(kept.count == decision.rules.count ? rules : [])])
    }
}
