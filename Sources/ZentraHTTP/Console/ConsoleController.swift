import Foundation
import HTTPTypes
import Hummingbird
import ZentraApp
import ZentraCore
import ZentraStorage

/// The operator console: server-rendered pages under `/console` for operator and admin keys. Every
/// read is scoped to the signed-in key's tenant; every action runs the same service as its API
/// endpoint, in one unit of work, with the key that signed in as the audit record's actor.
struct ConsoleController {
    let services: AppServices
    let views: ConsoleViews
    static let sessionSeconds: Int64 = 8 * 3600

    var store: Store { services.store }

    /// Where an operator signs in (the contract's address).
    static let loginPath = "/console/login"

    func register(on router: Router<AppRequestContext>) {
        let console = router.group("console")
        for (name, type) in [("console.css", "text/css; charset=utf-8"), ("console.js", "text/javascript; charset=utf-8")] {
            console.get(RouterPath("assets/\(name)")) { _, _ -> Response in
                Response(status: .ok, headers: [.contentType: type, .cacheControl: "max-age=300"],
                         body: .init(byteBuffer: ByteBuffer(string: views.assets[name] ?? "")))
            }
        }
        console.get("login") { request, _ in signInForm(request, error: nil, status: .ok) }
        console.post("login") { request, context in try await signIn(request, context) }
        // The form's earlier address; 308 keeps a posted form's method and body.
        console.get("sign-in") { _, _ in Response(status: .permanentRedirect, headers: [.location: Self.loginPath]) }
        console.post("sign-in") { _, _ in Response(status: .permanentRedirect, headers: [.location: Self.loginPath]) }

        let pages = console.group().add(middleware: ConsoleSessionMiddleware(store: store, views: views))
        pages.get("/") { request, context in try await dashboard(request, context) }
        pages.post("sign-out") { request, context in try await signOut(request, context) }
        pages.get("review") { request, context in try await reviewQueue(request, context) }
        pages.get("search") { request, context in try await search(request, context) }
        pages.get("cards/{id}") { request, context in try await cardPage(request, context) }
        pages.get("authorizations/{id}") { request, context in try await authorizationPage(request, context) }
        pages.get("authorizations/{id}/evidence.json") { _, context in try await evidenceDownload(context) }
        pages.get("reconciliation-cases/{id}") { request, context in try await casePage(request, context) }
        pages.get("disputes/{id}") { request, context in try await disputePage(request, context) }
        pages.get("webhooks") { request, context in try await webhooksPage(request, context) }
        pages.get("audit") { request, context in try await auditPage(request, context) }
        actions(on: pages)
    }

    // MARK: Session

    private func signInForm(_ request: Request, error: String?, status: HTTPResponse.Status) -> Response {
        let token = ConsoleSessions.newToken()
        var values: [String: Any] = ["csrf": token, "hours": Self.sessionSeconds / 3600]
        if let error { values["error"] = error }
        var response = views.page("sign-in", title: "Sign in", session: nil, status: status, values)
        response.setCookie(ConsoleCookies.cookie(ConsoleCookies.signIn, token, maxAge: 3600, request: request))
        return response
    }

    struct SignInForm: Decodable {
        let csrf: String
        let api_key: String
    }

    private func signIn(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let text = String(buffer: try await request.body.collect(upTo: ConsoleForm.body_max))
        guard let form = try? URLEncodedFormDecoder().decode(SignInForm.self, from: text),
            let expected = request.cookies[ConsoleCookies.signIn]?.value,
            ConsoleForm.constantTimeEqual(Array(form.csrf.utf8), Array(expected.utf8))
        else { return signInForm(request, error: "The sign-in form expired; try again.", status: .forbidden) }
        let key = form.api_key.trimmingCharacters(in: .whitespaces)
        guard !key.isEmpty, key.count <= 200, let principal = try await TenantRepository.authenticate(digest: TenantRepository.digestHex(key), store: store) else {
            return signInForm(request, error: "That API key is not valid.", status: .unauthorized)
        }
        guard principal.role == .operator || principal.role == .admin, let keyID = principal.keyID else {
            return signInForm(request, error: "The console is for operator and admin keys; this key is \(principal.role.rawValue).", status: .forbidden)
        }
        let token = ConsoleSessions.newToken()
        try await store.write(WriteScope(tenant: principal.tenant, actor: principal.actor, requestID: context.requestID)) { tx in
            try await tx.console.insertSession(tokenHash: ConsoleSessions.hash(token), key: keyID, csrfToken: ConsoleSessions.newToken(),
                                              expiresAt: tx.now.adding(seconds: Self.sessionSeconds))
            tx.audit(.consoleSignedIn, objectType: .apiKey, objectID: keyID.rawValue, context: .object(["role": .string(principal.role.rawValue)]))
        }
        var response = Response(status: .seeOther, headers: [.location: "/console"])
        response.setCookie(ConsoleCookies.cookie(ConsoleCookies.session, token, maxAge: Int(Self.sessionSeconds), request: request))
        response.setCookie(ConsoleCookies.cookie(ConsoleCookies.signIn, "", maxAge: 0, request: request))
        return response
    }

    struct CSRFOnly: Decodable { let csrf: String }

    private func signOut(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        _ = try await ConsoleForm.read(request, context, as: CSRFOnly.self)
        let principal = try context.caller()
        if let token = request.cookies[ConsoleCookies.session]?.value {
            try await write(context) { tx in
                try await tx.console.deleteSession(tokenHash: ConsoleSessions.hash(token))
                tx.audit(.consoleSignedOut, objectType: .apiKey, objectID: principal.keyID?.rawValue ?? "")
            }
        }
        var response = Response(status: .seeOther, headers: [.location: Self.loginPath])
        response.setCookie(ConsoleCookies.cookie(ConsoleCookies.session, "", maxAge: 0, request: request))
        return response
    }

    // MARK: Actions: the API's services, audited with the signed-in key as actor

    struct ReviewForm: Decodable { let decision: String }
    struct AssignForm: Decodable { let owner: String }
    struct ResolveForm: Decodable { let resolution: String; let note: String? }
    struct RedeliverForm: Decodable { let webhook_endpoint: String? }
    struct OutcomeForm: Decodable { let outcome: String }

    private func actions(on pages: RouterGroup<AppRequestContext>) {
        pages.post("authorizations/{id}/review") { request, context in
            let id = try context.pathID("authorization", as: AuthorizationID.self)
            let form = try await ConsoleForm.read(request, context, as: ReviewForm.self)
            _ = try context.require("POST /authorizations/{id}/review")
            try await write(context) { tx in
                _ = try await AuthorizationService.settleReview(id, ReviewDecisionInput(decision: form.decision, note: "console"),
                                                                operator: tx.scope.actor, in: tx)
            }
            return redirect("/console/authorizations/\(id)", notice: "review_settled")
        }
        for action in [CardLifecycle.Action.lock, .unlock] {
            pages.post(RouterPath("cards/{id}/\(action == .lock ? "lock" : "unlock")")) { request, context in
                let id = try context.pathID("card", as: CardID.self)
                _ = try await ConsoleForm.read(request, context, as: CSRFOnly.self)
                _ = try context.require("POST /cards/{id}/\(action == .lock ? "lock" : "unlock")")
                try await write(context) { tx in _ = try await CardLifecycleService.change(id, action, reason: "console", in: tx) }
                return redirect("/console/cards/\(id)", notice: action == .lock ? "card_locked" : "card_unlocked")
            }
        }
        pages.post("reconciliation-cases/{id}/assign") { request, context in
            let id = try context.pathID("reconciliation_case", as: ReconciliationCaseID.self)
            let form = try await ConsoleForm.read(request, context, as: AssignForm.self)
            _ = try context.require("POST /reconciliation-cases/{id}/assign")
            try await write(context) { tx in _ = try await ReconciliationService.assign(id, AssignCaseInput(owner: form.owner), in: tx) }
            return redirect("/console/reconciliation-cases/\(id)", notice: "case_assigned")
        }
        pages.post("reconciliation-cases/{id}/resolve") { request, context in
            let id = try context.pathID("reconciliation_case", as: ReconciliationCaseID.self)
            let form = try await ConsoleForm.read(request, context, as: ResolveForm.self)
            _ = try context.require("POST /reconciliation-cases/{id}/resolve")
            try await write(context) { tx in
                _ = try await ReconciliationService.resolve(id, ResolveCaseInput(resolution: form.resolution,
                                                                                  note: form.note?.isEmpty == false ? form.note : nil), in: tx)
            }
            return redirect("/console/reconciliation-cases/\(id)", notice: "case_resolved")
        }
        pages.post("disputes/{id}/submit") { request, context in
            let id = try context.pathID("dispute", as: DisputeID.self)
            _ = try await ConsoleForm.read(request, context, as: CSRFOnly.self)
            _ = try context.require("POST /disputes/{id}/submit")
            try await write(context) { tx in _ = try await DisputeService.submit(id, SubmitDisputeInput(evidence: nil), in: tx) }
            return redirect("/console/disputes/\(id)", notice: "dispute_submitted")
        }
        pages.post("disputes/{id}/resolve") { request, context in
            let id = try context.pathID("dispute", as: DisputeID.self)
            let form = try await ConsoleForm.read(request, context, as: OutcomeForm.self)
            _ = try context.require("POST /disputes/{id}/resolve")
            try await write(context) { tx in
                _ = try await DisputeService.resolve(id, DisputeOutcomeInput(outcome: form.outcome, note: "console"), in: tx)
            }
            return redirect("/console/disputes/\(id)", notice: "dispute_resolved")
        }
        pages.post("events/{id}/redeliver") { request, context in
            let id = try context.pathID("event", as: EventID.self)
            let form = try await ConsoleForm.read(request, context, as: RedeliverForm.self)
            _ = try context.require("POST /events/{id}/redeliver")
            try await write(context) { tx in
                _ = try await WebhookDeliveryService.redeliver(id, RedeliverEvent(webhookEndpoint: form.webhook_endpoint), in: tx)
            }
            return redirect("/console/webhooks", notice: "event_redelivered")
        }
    }

    private func write(_ context: AppRequestContext, _ body: @escaping @Sendable (WriteTransaction) async throws -> Void) async throws {
        let principal = try context.caller()
        try await store.write(WriteScope(tenant: principal.tenant, actor: principal.actor, requestID: context.requestID), body)
    }

    /// After an action, the page it acted on (post/redirect/get), with a fixed notice by key.
    private func redirect(_ path: String, notice: String) -> Response {
        Response(status: .seeOther, headers: [.location: "\(path)?notice=\(notice)"])
    }

    static let notices = [
        "review_settled": "The review decision is recorded.", "card_locked": "The card is locked.", "card_unlocked": "The card is unlocked.",
        "case_assigned": "The case is assigned.", "case_resolved": "The case is resolved.",
        "event_redelivered": "The event is queued for delivery again, with the same webhook-id.",
        "dispute_submitted": "The dispute is submitted to the network.", "dispute_resolved": "The dispute's outcome is recorded.",
    ]

    private func render(_ template: String, title: String, _ request: Request, _ context: AppRequestContext, _ values: [String: Any]) -> Response {
        let notice = request.uri.queryParameters.get("notice").flatMap { Self.notices[$0] }
        return views.page(template, title: title, session: context.consoleSession, notice: notice, values)
    }

    private func read<T: Sendable>(_ context: AppRequestContext, _ body: @escaping @Sendable (ReadScope) async throws -> T) async throws -> T {
        try await store.read(tenant: try context.caller().tenant, body)
    }

    // MARK: Pages

    private func dashboard(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let now = store.clock.now()
        // Days in the tenant's time zone, at its offset now.
        let (board, timeZone, today) = try await read(context) { scope in
            let timeZone = try await scope.tenantSettings.record().timeZone
            let offset_us = Int64(TimeZones.utcOffsetSeconds(timeZone, at: now)) * 1_000_000
            let today = (now.microseconds + offset_us) / 86_400_000_000
            return (try await scope.console.dashboard(since: Timestamp(microseconds: today * 86_400_000_000 - offset_us),
                                                     chartFrom: Timestamp(microseconds: (today - 13) * 86_400_000_000 - offset_us),
                                                     utcOffsetSeconds: offset_us / 1_000_000), timeZone, today)
        }
        let days = Array((today - 13)...today)
        // Approved (then perhaps cleared, reversed or expired) out of every authorization today.
        let decided = board.authorizationsToday
        var byCurrency: [String: [Int64: Int64]] = [:]
        for point in board.spendByDay { byCurrency[point.currency, default: [:]][point.day] = point.amountMinor }
        let charts: [[String: Any]] = byCurrency.keys.sorted().compactMap { code in
            guard let currency = Currency(code: code), let amounts = byCurrency[code] else { return nil }
            return ["currency": code, "total": ConsoleViews.money(amounts.values.reduce(0, +), currency),
                    "svg": ConsoleViews.spendChart(days: days, amounts: amounts, currency: currency)]
        }
        return render("dashboard", title: "Dashboard", request, context, [
            "authorizationsToday": board.authorizationsToday,
            "approvalRate": decided == 0 ? "–" : "\(board.approvedToday * 1000 / decided / 10).\(board.approvedToday * 1000 / decided % 10)%",
            "inReview": board.inReview, "openCases": board.openCases, "openDisputes": board.openDisputes,
            "failingEndpoints": board.failingEndpoints, "failing": board.failingEndpoints > 0, "charts": charts, "timeZone": timeZone,
        ])
    }

    private func reviewQueue(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let page = PageRequest(limit: 100)
        let (authorizations, open, assigned, openDisputes) = try await read(context) { scope in
            (try await scope.authorizations.list(page, status: .review, card: nil).data,
             try await scope.reconciliationCases.list(page, status: .open).data, try await scope.reconciliationCases.list(page, status: .assigned).data,
             try await scope.disputes.listOpen(page).data)
        }
        let me = try context.caller().actor
        let cases = (open + assigned).map { c -> [String: Any] in
            ["id": c.id.rawValue, "kind": c.kind.rawValue, "delta": ConsoleViews.money(c.deltaMinor, c.currency), "owner": c.owner ?? "—",
             "created": ConsoleViews.time(c.createdAt), "me": me]
        }
        let disputes = openDisputes.map { d -> [String: Any] in
            ["id": d.id.rawValue, "status": d.status.rawValue, "reason": d.reason.rawValue, "amount": ConsoleViews.money(d.amountMinor, d.currency),
             "created": ConsoleViews.time(d.createdAt)]
        }
        return render("review", title: "Review queue", request, context, [
            "authorizations": authorizations.map(Self.row), "hasAuthorizations": !authorizations.isEmpty, "authorizationCount": authorizations.count,
            "cases": cases, "hasCases": !cases.isEmpty, "caseCount": cases.count,
            "disputes": disputes, "hasDisputes": !disputes.isEmpty, "disputeCount": disputes.count,
        ])
    }

    static func row(_ a: Authorization) -> [String: Any] {
        ["id": a.id.rawValue, "card": a.card.rawValue, "last4": a.last4, "status": a.status.rawValue,
         "amount": ConsoleViews.money(a.amountMinor, a.currency), "merchant": a.merchant.name, "reason": a.declineReason?.rawValue ?? "",
         "created": ConsoleViews.time(a.createdAt)]
    }

    private func search(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let query = (request.uri.queryParameters.get("q") ?? "").trimmingCharacters(in: .whitespaces)
        if CardID(query) != nil { return Response(status: .seeOther, headers: [.location: "/console/cards/\(query)"]) }
        if AuthorizationID(query) != nil { return Response(status: .seeOther, headers: [.location: "/console/authorizations/\(query)"]) }
        var cards: [Card] = []
        if query.count == 4, query.allSatisfy(\.isNumber) {
            cards = try await read(context) { try await $0.cards.list(last4: query, limit: 50) }
            if cards.count == 1 { return Response(status: .seeOther, headers: [.location: "/console/cards/\(cards[0].id)"]) }
        } else if !query.isEmpty, query.count <= 200 {
            if let found = try await read(context, { try await $0.authorizations.find(networkReference: query)?.authorization.id }) {
                return Response(status: .seeOther, headers: [.location: "/console/authorizations/\(found)"])
            }
        }
        let rows = cards.map { card -> [String: Any] in
            ["id": card.id.rawValue, "last4": card.last4, "status": card.status.rawValue,
             "available": ConsoleViews.money(card.availableMinor, card.currency), "created": ConsoleViews.time(card.createdAt)]
        }
        return views.page("search", title: "Search", session: context.consoleSession, query: query, ["cards": rows, "hasCards": !rows.isEmpty])
    }

    private func cardPage(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let id = try context.pathID("card", as: CardID.self)
        let now = store.clock.now()
        let (card, authorizations, entries, events) = try await read(context) { scope in
            let card = try await CardSpendReader.card(id, now: now, scope: scope)
            return (card, try await scope.authorizations.list(PageRequest(limit: 50), status: nil, card: card.id).data,
                    try await scope.ledger.entries(of: card.ledgerAccount, PageRequest(limit: 50)).data,
                    try await scope.events.newest(about: [card.id.rawValue], limit: 50))
        }
        var limits: [[String: Any]] = []
        if let spend = card.spend {
            for (name, window) in [("Daily", spend.daily), ("Weekly", spend.weekly), ("Monthly", spend.monthly), ("Lifetime", spend.lifetime)] {
                guard let limit = window.limitMinor, limit > 0 else { continue }
                limits.append(["name": name, "percent": min(100, window.usedMinor * 100 / limit),
                               "used": ConsoleViews.money(window.usedMinor, card.currency), "limit": ConsoleViews.money(limit, card.currency)])
            }
        }
        let controls = card.spendControls.serializedString
        return render("card", title: "Card •••• \(card.last4)", request, context, [
            "card": [
                "id": card.id.rawValue, "last4": card.last4, "status": card.status.rawValue, "type": card.type.rawValue,
                "expiry": String(format: "%02d/%d", card.expMonth, card.expYear), "customer": card.customer.rawValue,
                "program": card.program.rawValue, "available": ConsoleViews.money(card.availableMinor, card.currency),
                "held": ConsoleViews.money(card.heldMinor, card.currency), "controls": controls,
                "canLock": card.status == .active, "canUnlock": card.status == .locked, "limits": limits,
            ] as [String: Any],
            "authorizations": authorizations.map(Self.row),
            "entries": entries.map { entry -> [String: Any] in
                ["journal": entry.journalEntry.rawValue, "direction": entry.direction.rawValue,
                 "amount": ConsoleViews.money(entry.amountMinor, entry.currency), "created": ConsoleViews.time(entry.createdAt)]
            },
            "events": events.reversed().map { ["sequence": $0.sequence, "type": $0.type, "id": $0.id.rawValue, "created": ConsoleViews.time($0.createdAt)] },
        ])
    }

    private func authorizationPage(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let id = try context.pathID("authorization", as: AuthorizationID.self)
        let (evidence, stored) = try await read(context) { scope in
            let evidence = try await AuthorizationEvidence.load(id, scope: scope)
            return (evidence, try await scope.authorizations.find(evidence.authorization))
        }
        guard let a = stored?.authorization else { throw DomainError.resourceMissing("authorization", id: id.rawValue) }
        let packet = try ZentraJSON.encode(evidence)
        let keys = services.configuration.evidenceKeys
        let verifiedBy = keys.verify(body: packet, header: try keys.signatureHeader(for: packet))
        var rules: [[String: Any]] = []
        var decidingRule = ""
        if case .object(let policy) = evidence.policy {
            if case .string(let rule) = policy["deciding_rule"] { decidingRule = rule }
            if case .array(let list) = policy["rules"] {
                for (index, item) in list.enumerated() {
                    guard case .object(let fields) = item else { continue }
                    var rule = "", result = ""
                    if case .string(let text) = fields["rule"] { rule = text }
                    if case .string(let text) = fields["result"] { result = text }
                    rules.append(["index": index + 1, "rule": rule, "result": result,
                                  "inputs": fields["inputs"].map { String(decoding: $0.serialized, as: UTF8.self) } ?? ""])
                }
            }
        }
        var row = Self.row(a)
        row["channel"] = a.channel.rawValue
        row["networkReference"] = a.networkReference
        // Decisions recorded before sources were named all came over the API.
        row["source"] = a.source == .iso8583 ? "ISO 8583" : "API"
        row["inReview"] = a.status == .review
        row["responseCode"] = a.responseCode
        row["declineReason"] = a.declineReason.map { "(\($0.rawValue))" } ?? ""
        row["decidingRule"] = decidingRule.isEmpty ? "—" : decidingRule
        return render("authorization", title: "Authorization \(a.id)", request, context, [
            "id": a.id.rawValue, "authorization": row, "rules": rules, "evidence": ConsoleViews.pretty(packet),
            "signatureValid": verifiedBy != nil,
            "signatureStatus": verifiedBy.map { "Signature verified with published key \($0) (Ed25519 over the exact bytes)." }
                ?? "The signature does not verify.",
        ])
    }

    /// The signed packet as a file: the same bytes and header as `GET /authorizations/{id}/evidence`.
    private func evidenceDownload(_ context: AppRequestContext) async throws -> Response {
        let id = try context.pathID("authorization", as: AuthorizationID.self)
        let evidence = try await read(context) { scope in try await AuthorizationEvidence.load(id, scope: scope) }
        let packet = try ZentraJSON.encode(evidence)
        var headers: HTTPFields = [.contentType: "application/json", .contentDisposition: "attachment; filename=\"\(id)-evidence.json\"",
                                   .cacheControl: "no-store"]
        headers[HTTPField.Name("Zentra-Evidence-Signature")!] = try services.configuration.evidenceKeys.signatureHeader(for: packet)
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: packet)))
    }

    private func casePage(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let id = try context.pathID("reconciliation_case", as: ReconciliationCaseID.self)
        let evidence = try await read(context) { scope in try await ClearingEvidence.load(reconciliationCase: id, scope: scope) }
        guard let c = evidence.reconciliationCase else { throw DomainError.resourceMissing("reconciliation case", id: id.rawValue) }
        return render("case", title: "Case \(id)", request, context, [
            "id": c.id.rawValue, "status": c.status.rawValue, "kind": c.kind.rawValue, "delta": ConsoleViews.money(c.deltaMinor, c.currency),
            "owner": c.owner ?? "—", "resolution": c.resolution?.rawValue ?? "—", "open": c.status != .resolved,
            "me": try context.caller().actor, "resolutions": ReconciliationResolution.allCases.map(\.rawValue),
            "evidence": ConsoleViews.pretty(try ZentraJSON.encode(evidence)),
        ])
    }

    private func disputePage(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let id = try context.pathID("dispute", as: DisputeID.self)
        let evidence = try await read(context) { scope in try await DisputeEvidence.load(id, scope: scope) }
        let d = evidence.dispute
        return render("dispute", title: "Dispute \(id)", request, context, [
            "id": d.id.rawValue, "status": d.status.rawValue, "reason": d.reason.rawValue, "amount": ConsoleViews.money(d.amountMinor, d.currency),
            "transaction": d.transaction.rawValue, "evidence": ConsoleViews.pretty(try ZentraJSON.encode(evidence)),
            "canSubmit": d.status == .opened, "canResolve": d.status == .submitted,
        ])
    }

    private func webhooksPage(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let endpoints = try await read(context) { scope in
            var result: [(WebhookEndpoint, [WebhookDelivery])] = []
            for endpoint in try await scope.webhookEndpoints.list(PageRequest(limit: 50)).data {
                result.append((endpoint, try await scope.webhookDeliveries.list(endpoint: endpoint.id, PageRequest(limit: 20)).data))
            }
            return result
        }
        // Optional values are left out rather than empty: Mustache shows a section for any value, even "".
        let rows = endpoints.map { endpoint, deliveries -> [String: Any] in
            var row: [String: Any] = [
                "id": endpoint.id.rawValue, "url": endpoint.url, "status": endpoint.status.rawValue,
                "types": endpoint.eventTypes.joined(separator: ", "),
                "deliveries": deliveries.map { delivery -> [String: Any] in
                    ["id": delivery.id.rawValue, "event": delivery.event.rawValue, "eventType": delivery.eventType, "endpoint": endpoint.id.rawValue,
                     "status": delivery.status.rawValue, "redelivery": delivery.redelivery, "next": ConsoleViews.time(delivery.nextAttemptAt),
                     "attempts": delivery.attempts.map { attempt -> [String: Any] in
                         var line: [String: Any] = ["at": ConsoleViews.time(attempt.attemptedAt), "latency": attempt.latencyMs,
                                                    "outcome": attempt.statusCode.map { "HTTP \($0)" } ?? (attempt.error ?? "")]
                         if let excerpt = attempt.responseExcerpt { line["excerpt"] = String(excerpt.prefix(120)) }
                         return line
                     }]
                },
            ]
            if let reason = endpoint.disabledReason { row["reason"] = reason.rawValue }
            return row
        }
        return render("webhooks", title: "Webhooks", request, context, ["endpoints": rows])
    }

    private func auditPage(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let page = try request.pageRequest()
        let (records, verification) = try await read(context) { scope in
            (try await scope.auditLog.list(PageRequest(limit: 50, startingAfter: page.startingAfter)), try await scope.auditLog.verifyFromCheckpoint())
        }
        let status = verification.valid
            ? "Chain verified: the \(verification.recordsChecked) records after #\(verification.checkedFromSequence) (checked before), every hash and link holds."
            : "Chain broken at record \(verification.brokenAtSequence.map(String.init) ?? "?"): \(verification.reason ?? "unknown")."
        return render("audit", title: "Audit log", request, context, [
            "valid": verification.valid, "chainStatus": status, "more": records.hasMore, "last": records.data.last?.id.rawValue ?? "",
            "records": records.data.map { record -> [String: Any] in
                ["sequence": record.sequence, "actor": record.actor, "action": record.action, "object": "\(record.objectType) \(record.objectId)",
                 "created": ConsoleViews.time(record.createdAt)]
            },
        ])
    }
}
