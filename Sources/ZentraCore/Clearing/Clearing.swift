public enum ClearingKind: IdentifierKind { public static let prefix = "clr_" }
public enum ReconciliationCaseKind: IdentifierKind { public static let prefix = "rec_" }
public enum SettlementKind: IdentifierKind { public static let prefix = "stl_" }
public typealias ClearingID = ID<ClearingKind>
public typealias ReconciliationCaseID = ID<ReconciliationCaseKind>
public typealias SettlementID = ID<SettlementKind>

/// How a clearing record compares with what was authorized.
public enum ClearingStatus: String, Sendable, Codable, Hashable, CaseIterable {
    /// Cleared exactly what its authorization held.
    case matched
    /// Cleared more or less than its authorization held: posted, and a reconciliation case opened.
    case mismatched
    /// Matched no authorization (a force post): posted from the card's funds, and a case opened.
    case unmatched
}

/// Which rule found the authorization, in the order they are tried.
public enum ClearingMatchMethod: String, Sendable, Codable, Hashable {
    case authorization
    case networkReference = "network_reference"
    /// The card's held authorization closest in amount, within `ClearingMatching.tolerancePercent`
    /// of its hold and `ClearingMatching.windowDays` of age.
    case cardAmount = "card_amount"
    case none
}

/// The third matching rule, pure: a record carrying neither an authorization id nor a known
/// network reference is matched to one of its card's open holds when the amounts are close.
public enum ClearingMatching {
    /// Tips, fuel and hotel incidentals clear above or below the authorized amount; 20% covers them.
    public static let tolerancePercent: Int64 = 20
    /// Holds older than this are not guessed at (programs' hold lifetimes are shorter).
    public static let windowDays: Int64 = 30

    public struct Candidate: Sendable, Hashable {
        public let authorization: AuthorizationID
        public let heldMinor: Int64
        public let createdAt: Timestamp

        public init(authorization: AuthorizationID, heldMinor: Int64, createdAt: Timestamp) {
            self.authorization = authorization
            self.heldMinor = heldMinor
            self.createdAt = createdAt
        }
    }

    /// Whether `cleared` is within the tolerance of `held`: |cleared - held| * 100 <= held * tolerance,
    /// compared in full width so that no amount overflows.
    public static func withinTolerance(held: Int64, cleared: Int64) -> Bool {
        guard held > 0, cleared > 0 else { return false }
        let difference = held.magnitude > cleared.magnitude ? held.magnitude - cleared.magnitude : cleared.magnitude - held.magnitude
        let scaled = difference.multipliedFullWidth(by: 100)
        let bound = held.magnitude.multipliedFullWidth(by: UInt64(tolerancePercent))
        return (scaled.high, scaled.low) <= (bound.high, bound.low)
    }

    /// The candidate closest in amount within the tolerance and window; ties go to the oldest hold.
    public static func best(_ candidates: [Candidate], clearedMinor: Int64, now: Timestamp) -> AuthorizationID? {
        let oldest = now.adding(seconds: -windowDays * 86_400)
        return candidates
            .filter { $0.createdAt >= oldest && withinTolerance(held: $0.heldMinor, cleared: clearedMinor) }
            .min { a, b in
                let da = a.heldMinor.distance(to: clearedMinor).magnitude
                let db = b.heldMinor.distance(to: clearedMinor).magnitude
                return da != db ? da < db : (a.createdAt != b.createdAt ? a.createdAt < b.createdAt : a.authorization < b.authorization)
            }?.authorization
    }
}

/// How one clearing moves money, decided from what its authorization holds and what the card has:
/// the hold pays first, its unused remainder goes back to the card, an over-clear takes the rest
/// from the card's funds, and what the card cannot cover is owed by the cardholder (the network
/// has moved the money either way).
public struct ClearingPlan: Sendable, Hashable {
    public let heldMinor: Int64
    public let clearedMinor: Int64
    /// Paid from the hold (Reserved → Settlement).
    public let fromHoldMinor: Int64
    /// The hold's unused remainder (Reserved → card funds).
    public let releasedMinor: Int64
    /// Beyond the hold, paid from the card's funds (card funds → Settlement).
    public let fromFundsMinor: Int64
    /// Beyond the hold and the card's funds: owed by the cardholder (Receivable → Settlement).
    public let shortfallMinor: Int64
    /// Cleared minus authorized (what the hold held): positive for an over-clear.
    public let deltaMinor: Int64

    public init(heldMinor: Int64, clearedMinor: Int64, availableMinor: Int64) throws(DomainError) {
        guard heldMinor >= 0, clearedMinor > 0, availableMinor >= 0 else {
            throw DomainError.invariantViolated("a clearing plan needs a positive amount and no negative balances")
        }
        self.heldMinor = heldMinor
        self.clearedMinor = clearedMinor
        fromHoldMinor = min(heldMinor, clearedMinor)
        releasedMinor = heldMinor - fromHoldMinor
        let beyond = clearedMinor - fromHoldMinor
        fromFundsMinor = min(beyond, availableMinor)
        shortfallMinor = beyond - fromFundsMinor
        deltaMinor = try MinorUnits.subtract(clearedMinor, heldMinor)
    }

    /// What stays counted against the card's spend windows beyond the hold (an over-clear).
    public var addedSpendMinor: Int64 { clearedMinor - fromHoldMinor }
}

/// A reconciliation case: opened by every mismatched or unmatched clearing, worked by an operator.
public enum ReconciliationStatus: String, Sendable, Codable, Hashable, CaseIterable {
    case open
    case assigned
    case resolved
}

public enum ReconciliationKind: String, Sendable, Codable, Hashable {
    case amountMismatch = "amount_mismatch"
    case unmatched
}

/// How a case was closed. None of them moves money: the clearing already posted what the network
/// moved, and a correction toward the cardholder is a dispute or an adjustment of its own.
public enum ReconciliationResolution: String, Sendable, Codable, Hashable, CaseIterable {
    /// The network's amount stands (a tip, a fuel top-up, a late presentment).
    case accepted
    /// The difference is written off by the issuer.
    case writtenOff = "written_off"
    /// Pursued through a dispute.
    case disputed
    /// Settled outside Zentra; the note says how.
    case other
}

/// The case's states: open → assigned (and reassigned) → resolved; resolved is final.
public enum ReconciliationTransitions {
    public static func assign(from status: ReconciliationStatus) throws(DomainError) -> ReconciliationStatus {
        guard status != .resolved else {
            throw DomainError(.conflict, code: "reconciliation_case_resolved", message: "The case is resolved; it cannot be reassigned.")
        }
        return .assigned
    }

    public static func resolve(from status: ReconciliationStatus) throws(DomainError) -> ReconciliationStatus {
        guard status != .resolved else {
            throw DomainError(.conflict, code: "reconciliation_case_resolved", message: "The case is already resolved.")
        }
        return .resolved
    }
}
