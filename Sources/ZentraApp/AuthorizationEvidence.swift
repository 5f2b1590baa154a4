import ZentraCore
import ZentraStorage

/// Everything that shows why an authorization was decided as it was, in one document: the card
/// (last4, never the PAN), the merchant, every rule with its inputs and result, the deciding rule,
/// the customer's webhook answer, the hold's journal entries, the events, the audit records, timings,
/// and a card network's message fields.
public struct AuthorizationEvidence: Sendable, Encodable {
    public let object = "authorization_evidence"
    public let authorization: AuthorizationID
    public let networkReference: String
    /// Where the request came from, and the card network's message when it came over ISO 8583
    /// (both absent from decisions rendered before sources were named).
    public let source: AuthorizationSource?
    public let networkMessage: JSONValue?
    public let status: AuthorizationStatus
    public let card: JSONValue
    public let merchant: Merchant
    public let channel: Channel
    public let deviceLocation: GeoPoint?
    public let decision: Decision
    public let policy: JSONValue
    public let customerDecision: CustomerDecision?
    public let spendBefore: JSONValue
    public let availableBeforeMinor: JSONValue
    public let availableAfterMinor: Int64
    public let timeZone: JSONValue
    public let windows: JSONValue
    public let reviewRules: JSONValue
    /// Every input of the policy core, as it saw them (what a replay decides from).
    public let policyInput: JSONValue
    public let hold: AuthorizationHold?
    public let adjustments: [AuthorizationAdjustment]
    public let journalEntries: [JournalEntry]
    public let events: [Event]
    public let auditRecords: [AuditRecord]
    public let timings: JSONValue

    public struct Decision: Sendable, Encodable {
        public let status: AuthorizationStatus
        public let declineReason: DeclineReason?
        public let responseCode: String
        public let decidingRule: JSONValue
    }

    public static func load(_ id: AuthorizationID, scope: some TenantScope) async throws -> AuthorizationEvidence {
        guard let stored = try await scope.authorizations.find(id) else { throw DomainError.resourceMissing("authorization", id: id.rawValue) }
        let a = stored.authorization
        let evidence = stored.evidence.objectFields
        let entries = try await scope.ledger.journalEntries(a.journalEntries)
        let firstDecision = a.policy.json.objectFields
        let firstStatus = AuthorizationStatus(rawValue: firstDecision["decision"]?.stringValue ?? "") ?? a.status
        return AuthorizationEvidence(
            authorization: a.id, networkReference: a.networkReference, source: a.source, networkMessage: evidence["network_message"],
            status: a.status, card: evidence["card"] ?? .null,
            merchant: a.merchant, channel: a.channel, deviceLocation: a.deviceLocation,
            decision: Decision(status: firstStatus, declineReason: firstStatus == .declined ? a.declineReason : nil,
                               responseCode: a.responseCode, decidingRule: firstDecision["deciding_rule"] ?? .null),
            policy: a.policy.json, customerDecision: a.customerDecision, spendBefore: evidence["spend_before"] ?? .null,
            availableBeforeMinor: evidence["available_before_minor"] ?? .null, availableAfterMinor: a.availableMinor,
            timeZone: evidence["time_zone"] ?? .null, windows: evidence["windows"] ?? .null, reviewRules: evidence["review_rules"] ?? .null,
            policyInput: evidence["policy_input"] ?? .null,
            hold: a.hold, adjustments: a.adjustments, journalEntries: entries, events: try await scope.events.all(about: [a.id.rawValue]),
            auditRecords: try await scope.auditLog.all(about: [a.id.rawValue]), timings: evidence["timings"] ?? .null)
    }
}

/// `GET /authorizations/{id}/replay` and `zentra replay`: the first decision decided again by the
/// policy core from the inputs its evidence recorded, compared byte for byte with what was answered.
public enum AuthorizationReplay {
    public static func run(_ id: AuthorizationID, scope: some TenantScope) async throws -> PolicyReplay {
        guard let stored = try await scope.authorizations.find(id) else { throw DomainError.resourceMissing("authorization", id: id.rawValue) }
        return try stored.replay()
    }
}
