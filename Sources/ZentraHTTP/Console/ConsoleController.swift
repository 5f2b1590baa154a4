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

    func register(on router: Router<AppRequestContext>) {
        let console = router.group(RouterPath(ConsoleRoute.prefix))
        for (route, type) in [(ConsoleRoute.stylesheet, "text/css; charset=utf-8"), (ConsoleRoute.script, "text/javascript; charset=utf-8")] {
            let name = String(route.pattern.split(separator: "/").last ?? "")
            console.get(RouterPath(route.pattern)) { _, _ -> Response in
                Response(status: .ok, headers: [.contentType: type, .cacheControl: "max-age=300"],
                         body: .init(byteBuffer: ByteBuffer(string: views.assets[name] ?? "")))
            }
        }
        console.get(RouterPath(ConsoleRoute.login.pattern)) { request, _ in signInForm(request, error: nil, status: .ok) }
        console.post(RouterPath(ConsoleRoute.login.pattern)) { request, context in try await signIn(request, context) }
        // The form's earlier address; 308 keeps a posted form's method and body.
        let moved = Response(status: .permanentRedirect, headers: [.location: ConsoleRoute.login.path])
        console.get(RouterPath(ConsoleRoute.signInEarlier.pattern)) { _, _ in moved }
        console.post(RouterPath(ConsoleRoute.signInEarlier.pattern)) { _, _ in moved }

        let pages = console.group().add(middleware: ConsoleSessionMiddleware(store: store, views: views))
        pages.get("/") { request, context in try await dashboard(request, context) }
        pages.post(RouterPath(ConsoleRoute.signOut.pattern)) { request, context in try await signOut(request, context) }
        let reads: [(ConsoleRoute, @Sendable (Request, AppRequestContext) async throws -> Response)] = [
            (.review, reviewQueue), (.search, search), (.card, cardPage), (.authorization, authorizationPage),
            (.authorizationEvidence, { _, context in try await evidenceDownload(context) }), (.reconciliationCase, casePage),
            (.dispute, disputePage), (.webhooks, webhooksPage), (.audit, auditPage),
        ]
        for (route, handler) in reads { pages.get(RouterPath(route.pattern), use: handler) }
        actions(on: pages)
    }

    // MARK: Session

    private func signInForm(_ request: Request, error: String?, status: HTTPResponse.Status) -> Response {
        let token = ConsoleSessions.newToken()
        var response = views.page(SignInPage(csrf: token, hours: Self.sessionSeconds / 3600, error: error), title: "Sign in", session: nil,
                                  status: status)
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
        var response = Response(status: .seeOther, headers: [.location: ConsoleRoute.dashboard.path])
        response.setCookie(ConsoleCookies.cookie(ConsoleCookies.session, token, maxAge: Int(Self.sessionSeconds), request: request))
        response.setCookie(ConsoleCookies.cookie(ConsoleCookies.signIn, "", maxAge: 0, request: request))
        return response
    }

    struct CSRFOnly: Decodable, Sendable { let csrf: String }

    private func signOut(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        _ = try await ConsoleForm.read(request, context, as: CSRFOnly.self)
        let principal = try context.caller()
        if let token = request.cookies[ConsoleCookies.session]?.value {
            try await write(context) { tx in
                try await tx.console.deleteSession(tokenHash: ConsoleSessions.hash(token))
                tx.audit(.consoleSignedOut, objectType: .apiKey, objectID: principal.keyID?.rawValue ?? "")
            }
        }
        var response = Response(status: .seeOther, headers: [.location: ConsoleRoute.login.path])
        response.setCookie(ConsoleCookies.cookie(ConsoleCookies.session, "", maxAge: 0, request: request))
        return response
    }

    // MARK: Actions: the API's services, audited with the signed-in key as actor

    struct ReviewForm: Decodable, Sendable { let decision: String }
    struct AssignForm: Decodable, Sendable { let owner: String }
    struct ResolveForm: Decodable, Sendable { let resolution: String; let note: String? }
    struct RedeliverForm: Decodable, Sendable { let webhook_endpoint: String? }
    struct OutcomeForm: Decodable, Sendable { let outcome: String }

    private func actions(on pages: RouterGroup<AppRequestContext>) {
        action(on: pages, .authorizationReview, "authorization", permission: "POST /authorizations/{id}/review", form: ReviewForm.self,
               back: .authorization, notice: "review_settled") { (id: AuthorizationID, form, tx) in
            _ = try await AuthorizationService.settleReview(id, ReviewDecisionInput(decision: form.decision, note: "console"),
                                                            operator: tx.scope.actor, in: tx)
        }
        action(on: pages, .cardLock, "card", permission: "POST /cards/{id}/lock", form: CSRFOnly.self, back: .card,
               notice: "card_locked") { (id: CardID, _, tx) in _ = try await CardLifecycleService.change(id, .lock, reason: "console", in: tx) }
        action(on: pages, .cardUnlock, "card", permission: "POST /cards/{id}/unlock", form: CSRFOnly.self, back: .card,
               notice: "card_unlocked") { (id: CardID, _, tx) in _ = try await CardLifecycleService.change(id, .unlock, reason: "console", in: tx) }
        action(on: pages, .reconciliationCaseAssign, "reconciliation_case", permission: "POST /reconciliation-cases/{id}/assign",
               form: AssignForm.self, back: .reconciliationCase, notice: "case_assigned") { (id: ReconciliationCaseID, form, tx) in
            _ = try await ReconciliationService.assign(id, AssignCaseInput(owner: form.owner), in: tx)
        }
        action(on: pages, .reconciliationCaseResolve, "reconciliation_case", permission: "POST /reconciliation-cases/{id}/resolve",
               form: ResolveForm.self, back: .reconciliationCase, notice: "case_resolved") { (id: ReconciliationCaseID, form, tx) in
            _ = try await ReconciliationService.resolve(id, ResolveCaseInput(resolution: form.resolution,
                                                                              note: form.note?.isEmpty == false ? form.note : nil), in: tx)
        }
        action(on: pages, .disputeSubmit, "dispute", permission: "POST /disputes/{id}/submit", form: CSRFOnly.self,
               back: .dispute, notice: "dispute_submitted") { (id: DisputeID, _, tx) in
            _ = try await DisputeService.submit(id, SubmitDisputeInput(evidence: nil), in: tx)
        }
        action(on: pages, .disputeResolve, "dispute", permission: "POST /disputes/{id}/resolve", form: OutcomeForm.self,
               back: .dispute, notice: "dispute_resolved") { (id: DisputeID, form, tx) in
            _ = try await DisputeService.resolve(id, DisputeOutcomeInput(outcome: form.outcome, note: "console"), in: tx)
        }
        action(on: pages, .eventRedeliver, "event", permission: "POST /events/{id}/redeliver", form: RedeliverForm.self,
               back: .webhooks, notice: "event_redelivered") { (id: EventID, form, tx) in
            _ = try await WebhookDeliveryService.redeliver(id, RedeliverEvent(webhookEndpoint: form.webhook_endpoint.map(Reference.init)), in: tx)
        }
    }

    /// A console action: the object named by the path, the form once its CSRF token matched, the
    /// permission of the API route that does the same, then that route's service in one unit of
    /// work, and back to the page `back` (its id filled in) with a notice (post/redirect/get).
    private func action<Kind, Form: Decodable & Sendable>(
        on pages: RouterGroup<AppRequestContext>, _ route: ConsoleRoute, _ what: String, permission: String, form _: Form.Type,
        back: ConsoleRoute, notice: String,
        _ perform: @escaping @Sendable (ID<Kind>, Form, WriteTransaction) async throws -> Void
    ) {
        pages.post(RouterPath(route.pattern)) { request, context in
            let id = try context.pathID(what, as: ID<Kind>.self)
            let form = try await ConsoleForm.read(request, context, as: Form.self)
            _ = try context.require(permission)
            try await write(context) { tx in try await perform(id, form, tx) }
            return redirect(back.path(id), notice: notice)
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

    private func render(_ page: some ConsolePage, title: String, _ request: Request, _ context: AppRequestContext) -> Response {
        let notice = request.uri.queryParameters.get("notice").flatMap { Self.notices[$0] }
        return views.page(page, title: title, session: context.consoleSession, notice: notice)
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
            let offsetMicroseconds = Int64(TimeZones.utcOffsetSeconds(timeZone, at: now)) * 1_000_000
            let today = (now.microseconds + offsetMicroseconds) / 86_400_000_000
            return (try await scope.console.dashboard(since: Timestamp(microseconds: today * 86_400_000_000 - offsetMicroseconds),
                                                     chartFrom: Timestamp(microseconds: (today - 13) * 86_400_000_000 - offsetMicroseconds),
                                                     utcOffsetSeconds: offsetMicroseconds / 1_000_000), timeZone, today)
        }
        return render(DashboardPage(board, days: Array((today - 13)...today), timeZone: timeZone), title: "Dashboard", request, context)
    }

    private func reviewQueue(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let page = PageRequest(limit: 100)
        let (authorizations, open, assigned, openDisputes) = try await read(context) { scope in
            (try await scope.authorizations.list(page, status: .review, card: nil).data,
             try await scope.reconciliationCases.list(page, status: .open).data, try await scope.reconciliationCases.list(page, status: .assigned).data,
             try await scope.disputes.listOpen(page).data)
        }
        let review = ReviewPage(me: try context.caller().actor, authorizations: authorizations, cases: open + assigned, disputes: openDisputes)
        return render(review, title: "Review queue", request, context)
    }

    private func search(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let query = (request.uri.queryParameters.get("q") ?? "").trimmingCharacters(in: .whitespaces)
        if let card = CardID(query) { return Response(status: .seeOther, headers: [.location: ConsoleRoute.card.path(card)]) }
        if let authorization = AuthorizationID(query) {
            return Response(status: .seeOther, headers: [.location: ConsoleRoute.authorization.path(authorization)])
        }
        var cards: [Card] = []
        if query.count == 4, query.allSatisfy(\.isNumber) {
            cards = try await read(context) { try await $0.cards.list(last4: query, limit: 50) }
            if cards.count == 1 { return Response(status: .seeOther, headers: [.location: ConsoleRoute.card.path(cards[0].id)]) }
        } else if !query.isEmpty, query.count <= 200 {
            if let found = try await read(context, { try await $0.authorizations.find(networkReference: query)?.authorization.id }) {
                return Response(status: .seeOther, headers: [.location: ConsoleRoute.authorization.path(found)])
            }
        }
        return views.page(SearchPage(cards: cards), title: "Search", session: context.consoleSession, query: query)
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
        let page = CardPage(card, authorizations: authorizations, entries: entries, events: events)
        return render(page, title: "Card •••• \(card.last4)", request, context)
    }

    private func authorizationPage(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let id = try context.pathID("authorization", as: AuthorizationID.self)
        let (evidence, stored) = try await read(context) { scope in
            let evidence = try await AuthorizationEvidence.load(id, scope: scope)
            return (evidence, try await scope.authorizations.find(evidence.authorization))
        }
        guard let authorization = stored?.authorization else { throw DomainError.resourceMissing("authorization", id: id.rawValue) }
        let packet = try ZentraJSON.encode(evidence)
        let keys = services.configuration.evidenceKeys
        let page = AuthorizationPage(authorization, evidence: evidence, packet: packet,
                                     verifiedBy: keys.verify(body: packet, header: try keys.signatureHeader(for: packet)))
        return render(page, title: "Authorization \(id)", request, context)
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
        guard let reconciliationCase = evidence.reconciliationCase else { throw DomainError.resourceMissing("reconciliation case", id: id.rawValue) }
        let page = CasePage(reconciliationCase, me: try context.caller().actor, evidence: try ZentraJSON.encode(evidence))
        return render(page, title: "Case \(id)", request, context)
    }

    private func disputePage(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let id = try context.pathID("dispute", as: DisputeID.self)
        let evidence = try await read(context) { scope in try await DisputeEvidence.load(id, scope: scope) }
        return render(DisputePage(evidence.dispute, evidence: try ZentraJSON.encode(evidence)), title: "Dispute \(id)", request, context)
    }

    private func webhooksPage(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let endpoints = try await read(context) { scope in
            var result: [(WebhookEndpoint, [WebhookDelivery])] = []
            for endpoint in try await scope.webhookEndpoints.list(PageRequest(limit: 50)).data {
                result.append((endpoint, try await scope.webhookDeliveries.list(endpoint: endpoint.id, PageRequest(limit: 20)).data))
            }
            return result
        }
        return render(WebhooksPage(endpoints), title: "Webhooks", request, context)
    }

    /// The newest records and a check of the chain since the last checkpoint: a view costs the
    /// records written since then, not the whole chain (`zentra audit verify` walks it all).
    private func auditPage(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let page = try request.pageRequest()
        let (records, verification) = try await read(context) { scope in
            (try await scope.auditLog.list(PageRequest(limit: 50, startingAfter: page.startingAfter)), try await scope.auditLog.verifyFromCheckpoint())
        }
        return render(AuditPage(records, verification: verification), title: "Audit log", request, context)
    }
}
