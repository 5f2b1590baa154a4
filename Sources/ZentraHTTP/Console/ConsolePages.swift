import Foundation
import ZentraApp
import ZentraCore
import ZentraStorage

/// What a console page shows, one type per template: the templates read these stored properties
/// by name, so a field a page needs is named and typed here, and formatting (money, times, links)
/// happens once, in the initializers. A `nil` optional hides its section.
protocol ConsolePage {
    /// The Mustache template (in `Resources/console`) that draws the page.
    static var template: String { get }
}

/// The frame around every page: the header's fields, then the page itself under `page`. Templates
/// see the frame's fields from inside the page too, so every form finds `csrf`.
struct ConsoleFrame<Body: ConsolePage> {
    struct Session {
        let actor: String
        let role: String
    }

    let title: String
    let query: String
    let notice: String?
    let session: Session?
    /// The signed-in session's CSRF token, which every form posts back.
    let csrf: String?
    let links = ConsoleLinks()
    let page: Body
}

// MARK: Rows shared by several pages

struct AuthorizationRow {
    let id: String
    let href: String
    let reviewAction: String
    let card: String
    let cardHref: String
    let last4: String
    let status: String
    let amount: String
    let merchant: String
    let reason: String
    let created: String

    init(_ a: Authorization) {
        id = a.id.rawValue
        href = ConsoleRoute.authorization.path(a.id)
        reviewAction = ConsoleRoute.authorizationReview.path(a.id)
        card = a.card.rawValue
        cardHref = ConsoleRoute.card.path(a.card)
        last4 = a.last4
        status = a.status.rawValue
        amount = ConsoleViews.money(a.amountMinor, a.currency)
        merchant = a.merchant.name
        reason = a.declineReason?.rawValue ?? ""
        created = ConsoleViews.time(a.createdAt)
    }
}

// MARK: Pages

struct SignInPage: ConsolePage {
    static let template = "sign-in"
    let csrf: String
    let hours: Int64
    let error: String?
    let action = ConsoleRoute.login.path
}

struct ErrorPage: ConsolePage {
    static let template = "error"
    let heading: String
    let message: String
}

struct DashboardPage: ConsolePage {
    static let template = "dashboard"

    struct Chart {
        let currency: String
        let total: String
        let svg: String
    }

    let authorizationsToday: Int64
    let approvalRate: String
    let inReview: Int64
    let openCases: Int64
    let openDisputes: Int64
    let failingEndpoints: Int64
    let failing: Bool
    let charts: [Chart]
    let timeZone: String

    /// `days` are the chart's days (days since the epoch in the tenant's time zone), oldest first.
    init(_ board: ConsoleDashboard, days: [Int64], timeZone: String) {
        authorizationsToday = board.authorizationsToday
        // Approved (then perhaps cleared, reversed or expired) out of every authorization today.
        let decided = board.authorizationsToday
        approvalRate = decided == 0 ? "–" : "\(board.approvedToday * 1000 / decided / 10).\(board.approvedToday * 1000 / decided % 10)%"
        inReview = board.inReview
        openCases = board.openCases
        openDisputes = board.openDisputes
        failingEndpoints = board.failingEndpoints
        failing = board.failingEndpoints > 0
        var byCurrency: [String: [Int64: Int64]] = [:]
        for point in board.spendByDay { byCurrency[point.currency, default: [:]][point.day] = point.amountMinor }
        charts = byCurrency.keys.sorted().compactMap { code in
            guard let currency = Currency(code: code), let amounts = byCurrency[code] else { return nil }
            return Chart(currency: code, total: ConsoleViews.money(amounts.values.reduce(0, +), currency),
                         svg: ConsoleViews.spendChart(days: days, amounts: amounts, currency: currency))
        }
        self.timeZone = timeZone
    }
}

struct ReviewPage: ConsolePage {
    static let template = "review"

    struct CaseRow {
        let id: String
        let href: String
        let assignAction: String
        let kind: String
        let delta: String
        let owner: String
        let created: String
    }

    struct DisputeRow {
        let id: String
        let href: String
        let status: String
        let reason: String
        let amount: String
        let created: String
    }

    let me: String
    let authorizations: [AuthorizationRow]
    let hasAuthorizations: Bool
    let authorizationCount: Int
    let cases: [CaseRow]
    let hasCases: Bool
    let caseCount: Int
    let disputes: [DisputeRow]
    let hasDisputes: Bool
    let disputeCount: Int

    init(me: String, authorizations: [Authorization], cases: [ReconciliationCase], disputes: [Dispute]) {
        self.me = me
        self.authorizations = authorizations.map(AuthorizationRow.init)
        hasAuthorizations = !authorizations.isEmpty
        authorizationCount = authorizations.count
        self.cases = cases.map { c in
            CaseRow(id: c.id.rawValue, href: ConsoleRoute.reconciliationCase.path(c.id), assignAction: ConsoleRoute.reconciliationCaseAssign.path(c.id),
                    kind: c.kind.rawValue, delta: ConsoleViews.money(c.deltaMinor, c.currency), owner: c.owner ?? "—",
                    created: ConsoleViews.time(c.createdAt))
        }
        hasCases = !cases.isEmpty
        caseCount = cases.count
        self.disputes = disputes.map { d in
            DisputeRow(id: d.id.rawValue, href: ConsoleRoute.dispute.path(d.id), status: d.status.rawValue, reason: d.reason.rawValue,
                       amount: ConsoleViews.money(d.amountMinor, d.currency), created: ConsoleViews.time(d.createdAt))
        }
        hasDisputes = !disputes.isEmpty
        disputeCount = disputes.count
    }
}

struct SearchPage: ConsolePage {
    static let template = "search"

    struct CardRow {
        let id: String
        let href: String
        let last4: String
        let status: String
        let available: String
        let created: String
    }

    let cards: [CardRow]
    let hasCards: Bool

    init(cards: [Card]) {
        self.cards = cards.map { card in
            CardRow(id: card.id.rawValue, href: ConsoleRoute.card.path(card.id), last4: card.last4, status: card.status.rawValue,
                    available: ConsoleViews.money(card.availableMinor, card.currency), created: ConsoleViews.time(card.createdAt))
        }
        hasCards = !cards.isEmpty
    }
}

struct CardPage: ConsolePage {
    static let template = "card"

    struct Summary {
        let id: String
        let last4: String
        let status: String
        let type: String
        let expiry: String
        let customer: String
        let program: String
        let available: String
        let held: String
        let controls: String
        let canLock: Bool
        let canUnlock: Bool
        let lockAction: String
        let unlockAction: String
        let limits: [Limit]
    }

    struct Limit {
        let name: String
        let percent: Int64
        let used: String
        let limit: String
    }

    struct EntryRow {
        let journal: String
        let direction: String
        let amount: String
        let created: String
    }

    struct EventRow {
        let sequence: Int64
        let type: String
        let id: String
        let created: String
    }

    let card: Summary
    let authorizations: [AuthorizationRow]
    let entries: [EntryRow]
    let events: [EventRow]

    /// `events` newest first, as the store lists them; the page shows them in order.
    init(_ card: Card, authorizations: [Authorization], entries: [LedgerEntry], events: [Event]) {
        var limits: [Limit] = []
        if let spend = card.spend {
            for (name, window) in [("Daily", spend.daily), ("Weekly", spend.weekly), ("Monthly", spend.monthly), ("Lifetime", spend.lifetime)] {
                guard let limit = window.limitMinor, limit > 0 else { continue }
                limits.append(Limit(name: name, percent: min(100, window.usedMinor * 100 / limit),
                                    used: ConsoleViews.money(window.usedMinor, card.currency), limit: ConsoleViews.money(limit, card.currency)))
            }
        }
        self.card = Summary(
            id: card.id.rawValue, last4: card.last4, status: card.status.rawValue, type: card.type.rawValue,
            expiry: String(format: "%02d/%d", card.expMonth, card.expYear), customer: card.customer.rawValue, program: card.program.rawValue,
            available: ConsoleViews.money(card.availableMinor, card.currency), held: ConsoleViews.money(card.heldMinor, card.currency),
            controls: card.spendControls.serializedString, canLock: card.status == .active, canUnlock: card.status == .locked,
            lockAction: ConsoleRoute.cardLock.path(card.id), unlockAction: ConsoleRoute.cardUnlock.path(card.id), limits: limits)
        self.authorizations = authorizations.map(AuthorizationRow.init)
        self.entries = entries.map { entry in
            EntryRow(journal: entry.journalEntry.rawValue, direction: entry.direction.rawValue,
                     amount: ConsoleViews.money(entry.amountMinor, entry.currency), created: ConsoleViews.time(entry.createdAt))
        }
        self.events = events.reversed().map { EventRow(sequence: $0.sequence, type: $0.type, id: $0.id.rawValue, created: ConsoleViews.time($0.createdAt)) }
    }
}

struct AuthorizationPage: ConsolePage {
    static let template = "authorization"

    struct Detail {
        let id: String
        let reviewAction: String
        let card: String
        let cardHref: String
        let last4: String
        let status: String
        let amount: String
        let merchant: String
        let channel: String
        let networkReference: String?
        let source: String
        let inReview: Bool
        let responseCode: String
        let declineReason: String
        let decidingRule: String
        let created: String
    }

    struct RuleRow {
        let index: Int
        let rule: String
        let result: String
        let inputs: String
    }

    let authorization: Detail
    let rules: [RuleRow]
    let evidence: String
    let evidenceHref: String
    let signatureValid: Bool
    let signatureStatus: String

    /// `packet` is the evidence's signed bytes; `verifiedBy` the published key that verifies them.
    init(_ a: Authorization, evidence: AuthorizationEvidence, packet: [UInt8], verifiedBy: String?) {
        var rules: [RuleRow] = []
        var decidingRule = ""
        if case .object(let policy) = evidence.policy {
            if case .string(let rule) = policy["deciding_rule"] { decidingRule = rule }
            if case .array(let list) = policy["rules"] {
                for (index, item) in list.enumerated() {
                    guard case .object(let fields) = item else { continue }
                    var rule = "", result = ""
                    if case .string(let text) = fields["rule"] { rule = text }
                    if case .string(let text) = fields["result"] { result = text }
                    rules.append(RuleRow(index: index + 1, rule: rule, result: result,
                                         inputs: fields["inputs"].map { String(decoding: $0.serialized, as: UTF8.self) } ?? ""))
                }
            }
        }
        authorization = Detail(
            id: a.id.rawValue, reviewAction: ConsoleRoute.authorizationReview.path(a.id), card: a.card.rawValue,
            cardHref: ConsoleRoute.card.path(a.card), last4: a.last4, status: a.status.rawValue,
            amount: ConsoleViews.money(a.amountMinor, a.currency), merchant: a.merchant.name, channel: a.channel.rawValue,
            networkReference: a.networkReference,
            // Decisions recorded before sources were named all came over the API.
            source: a.source == .iso8583 ? "ISO 8583" : "API", inReview: a.status == .review, responseCode: a.responseCode,
            declineReason: a.declineReason.map { "(\($0.rawValue))" } ?? "", decidingRule: decidingRule.isEmpty ? "—" : decidingRule,
            created: ConsoleViews.time(a.createdAt))
        self.rules = rules
        self.evidence = ConsoleViews.pretty(packet)
        evidenceHref = ConsoleRoute.authorizationEvidence.path(a.id)
        signatureValid = verifiedBy != nil
        signatureStatus = verifiedBy.map { "Signature verified with published key \($0) (Ed25519 over the exact bytes)." }
            ?? "The signature does not verify."
    }
}

struct CasePage: ConsolePage {
    static let template = "case"
    let id: String
    let status: String
    let kind: String
    let delta: String
    let owner: String
    let resolution: String
    let open: Bool
    let me: String
    let assignAction: String
    let resolveAction: String
    let resolutions: [String]
    let evidence: String

    init(_ c: ReconciliationCase, me: String, evidence: [UInt8]) {
        id = c.id.rawValue
        status = c.status.rawValue
        kind = c.kind.rawValue
        delta = ConsoleViews.money(c.deltaMinor, c.currency)
        owner = c.owner ?? "—"
        resolution = c.resolution?.rawValue ?? "—"
        open = c.status != .resolved
        self.me = me
        assignAction = ConsoleRoute.reconciliationCaseAssign.path(c.id)
        resolveAction = ConsoleRoute.reconciliationCaseResolve.path(c.id)
        resolutions = ReconciliationResolution.allCases.map(\.rawValue)
        self.evidence = ConsoleViews.pretty(evidence)
    }
}

struct DisputePage: ConsolePage {
    static let template = "dispute"
    let id: String
    let status: String
    let reason: String
    let amount: String
    let transaction: String
    let evidence: String
    let canSubmit: Bool
    let canResolve: Bool
    let submitAction: String
    let resolveAction: String

    init(_ d: Dispute, evidence: [UInt8]) {
        id = d.id.rawValue
        status = d.status.rawValue
        reason = d.reason.rawValue
        amount = ConsoleViews.money(d.amountMinor, d.currency)
        transaction = d.transaction.rawValue
        self.evidence = ConsoleViews.pretty(evidence)
        canSubmit = d.status == .opened
        canResolve = d.status == .submitted
        submitAction = ConsoleRoute.disputeSubmit.path(d.id)
        resolveAction = ConsoleRoute.disputeResolve.path(d.id)
    }
}

struct WebhooksPage: ConsolePage {
    static let template = "webhooks"

    struct EndpointRow {
        let id: String
        let url: String
        let status: String
        let reason: String?
        let types: String
        let deliveries: [DeliveryRow]
    }

    struct DeliveryRow {
        let id: String
        let event: String
        let eventType: String
        let endpoint: String
        let status: String
        let redelivery: Bool
        let next: String
        let redeliverAction: String
        let attempts: [AttemptRow]
    }

    struct AttemptRow {
        let at: String
        let latency: Int64
        let outcome: String
        let excerpt: String?
    }

    let endpoints: [EndpointRow]

    init(_ endpoints: [(WebhookEndpoint, [WebhookDelivery])]) {
        self.endpoints = endpoints.map { endpoint, deliveries in
            EndpointRow(
                id: endpoint.id.rawValue, url: endpoint.url, status: endpoint.status.rawValue, reason: endpoint.disabledReason?.rawValue,
                types: endpoint.eventTypes.joined(separator: ", "),
                deliveries: deliveries.map { delivery in
                    DeliveryRow(
                        id: delivery.id.rawValue, event: delivery.event.rawValue, eventType: delivery.eventType, endpoint: endpoint.id.rawValue,
                        status: delivery.status.rawValue, redelivery: delivery.redelivery, next: ConsoleViews.time(delivery.nextAttemptAt),
                        redeliverAction: ConsoleRoute.eventRedeliver.path(delivery.event),
                        attempts: delivery.attempts.map { attempt in
                            AttemptRow(at: ConsoleViews.time(attempt.attemptedAt), latency: Int64(attempt.latencyMs),
                                       outcome: attempt.statusCode.map { "HTTP \($0)" } ?? (attempt.error ?? ""),
                                       excerpt: attempt.responseExcerpt.map { String($0.prefix(120)) })
                        })
                })
        }
    }
}

struct AuditPage: ConsolePage {
    static let template = "audit"

    struct RecordRow {
        let sequence: Int64
        let actor: String
        let action: String
        let object: String
        let created: String
    }

    let valid: Bool
    let chainStatus: String
    let records: [RecordRow]
    /// The next (older) page's address, when there is one.
    let older: String?

    init(_ records: Page<AuditRecord>, verification: AuditChain.Verification) {
        valid = verification.valid
        chainStatus = verification.valid
            ? "Chain verified: the \(verification.recordsChecked) records after #\(verification.checkedFromSequence) (checked before), every hash and link holds."
            : "Chain broken at record \(verification.brokenAtSequence.map(String.init) ?? "?"): \(verification.reason ?? "unknown")."
        self.records = records.data.map { record in
            RecordRow(sequence: record.sequence, actor: record.actor, action: record.action, object: "\(record.objectType) \(record.objectId)",
                      created: ConsoleViews.time(record.createdAt))
        }
        older = records.hasMore ? records.data.last.map { "\(ConsoleRoute.audit.path)?starting_after=\($0.id)" } : nil
    }
}
