import Hummingbird
import ZentraApp
import ZentraCore
import ZentraStorage

/// Cards: issuance, reads, and the audited sensitive-details read.
struct CardsController {
    let write: WriteEndpoint
    let read: ReadEndpoint
    let vault: CardVault

    func register(on group: RouterGroup<AppRequestContext>) {
        group.post("/cards") { request, context in
            try await write.run(request, context, input: CreateCard.self) { tx, input in
                try Reply.json(try await CardService.issue(input, vault: vault, in: tx), status: .created)
            }
        }
        group.get("/cards") { request, context in
            let page = try request.pageRequest()
            let customer = try request.queryID("customer", "customer", as: CustomerID.self)
            let status = try request.query("status", as: CardStatus.self)
            return try await read.run(context) { try await $0.cards.list(page, customer: customer, status: status) }
        }
        group.get("/cards/{id}") { _, context in
            let id = try context.pathID("card", as: CardID.self)
            let now = write.store.clock.now()
            return try await read.run(context) { scope in
                try await CardSpendReader.card(id, now: now, scope: scope)
            }
        }
        lifecycle(on: group)
        group.post("/cards/{id}/fund") { request, context in
            let id = try context.pathID("card", as: CardID.self)
            return try await write.run(request, context, input: FundCard.self) { tx, input in
                let usedLegacyField = input.transactionReference == nil && input.reference != nil
                let outcome = try await CardFundingService.fund(id, input, in: tx)
                guard usedLegacyField else { return try Reply.json(outcome) }
                return try Reply.json(outcome.map(LegacyReferenceReply.init), headers: Self.deprecation(successor: "fund", card: id.rawValue))
            }
        }
        group.get("/cards/{id}/sensitive") { _, context in
            let id = try context.pathID("card", as: CardID.self)
            let principal = try context.caller()
            let scope = WriteScope(tenant: principal.tenant, actor: principal.actor, requestID: context.requestID)
            let details = try await write.store.write(scope) { tx in
                try await CardService.sensitiveDetails(id, vault: vault, in: tx)
            }
            return try Reply.json(details, headers: ["Cache-Control": "no-store"]).response()
        }
    }

    /// Lock, unlock, security, their deprecated aliases, the missing terminate, operator closure.
    private func lifecycle(on group: RouterGroup<AppRequestContext>) {
        let change = { (action: CardLifecycle.Action, deprecatedFor: String?) in
            { @Sendable (request: Request, context: AppRequestContext) async throws -> Response in
                let id = try context.pathID("card", as: CardID.self)
                return try await write.run(request, context, input: CardStateChange.self) { tx, input in
                    let card = try await CardLifecycleService.change(id, action, reason: input.reason, in: tx)
                    return try Reply.json(card, headers: Self.deprecation(successor: deprecatedFor, card: id.rawValue))
                }
            }
        }
        let security = { (deprecatedFor: String?) in
            { @Sendable (request: Request, context: AppRequestContext) async throws -> Response in
                let id = try context.pathID("card", as: CardID.self)
                return try await write.run(request, context, input: CardSecurityUpdate.self) { tx, input in
                    let card = try await CardLifecycleService.updateSecurity(id, input, in: tx)
                    return try Reply.json(card, headers: Self.deprecation(successor: deprecatedFor, card: id.rawValue))
                }
            }
        }
        group.post("/cards/{id}/lock", use: change(.lock, nil))
        group.post("/cards/{id}/unlock", use: change(.unlock, nil))
        group.post("/cards/{id}/security", use: security(nil))
        group.post("/cards/{id}/freeze", use: change(.lock, "lock"))
        group.post("/cards/{id}/unfreeze", use: change(.unlock, "unlock"))
        group.post("/cards/{id}/limits", use: security("security"))
        group.post("/operator/cards/{id}/close", use: change(.close, nil))
        group.post("/cards/{id}/terminate") { _, _ -> Response in
            throw DomainError(.notFound, code: "resource_missing", message:
                "There is no terminate endpoint. Lock the card with POST /cards/{id}/lock; permanent closure is POST /operator/cards/{id}/close (operator role).")
        }
    }

    /// When the aliases and the `reference` field were deprecated: 2026-11-01T00:00:00Z.
    static let deprecatedAtUnixSeconds = 1_793_491_200

    /// Headers of a deprecated name: `Deprecation` as RFC 9745 writes it (`@` and the Unix time it
    /// was deprecated), and `Link`s to its successor and to the documentation (RFC 8288).
    static func deprecation(successor: String?, card: String) -> [String: String] {
        guard let successor else { return [:] }
        return ["Deprecation": "@\(deprecatedAtUnixSeconds)",
                "Link": "</cards/\(card)/\(successor)>; rel=\"successor-version\", </openapi.yaml>; rel=\"deprecation\""]
    }

    /// A funding answered to a client that sent the deprecated `reference` field: the funding plus a warning.
    struct LegacyReferenceReply: Encodable {
        let funding: CardFunding
        let warnings = ["The field 'reference' is deprecated; send 'transaction_reference' instead."]

        func encode(to encoder: any Encoder) throws {
            try funding.encode(to: encoder)
            var container = encoder.container(keyedBy: Key.self)
            try container.encode(warnings, forKey: .warnings)
        }

        enum Key: String, CodingKey { case warnings }
    }
}
