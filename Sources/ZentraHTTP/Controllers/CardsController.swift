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
            try await write.run(request, context, roles: [.developer], input: CreateCard.self) { tx, input in
                try Reply.json(try await CardService.issue(input, vault: vault, in: tx), status: .created)
            }
        }
        group.get("/cards") { request, context in
            let page = try request.pageRequest()
            let query = request.uri.queryParameters
            let customer = try query.get("customer").map { raw in try CustomerID(raw).orMissing("customer", raw, param: "customer") }
            let status = try query.get("status").map { raw in
                guard let status = CardStatus(rawValue: raw) else {
                    throw DomainError.parameterInvalid("status", "must be one of \(CardStatus.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                return status
            }
            return try await read.run(context) { try await $0.cards(page, customer: customer, status: status) }
        }
        group.get("/cards/{id}") { _, context in
            let raw = try context.pathID()
            return try await read.run(context) { scope in
                try await scope.card(try CardID(raw).orMissing("card", raw)).orMissing("card", raw)
            }
        }
        group.get("/cards/{id}/sensitive") { _, context in
            let raw = try context.pathID()
            let principal = try context.caller()
            let scope = WriteScope(tenant: principal.tenant, actor: principal.actor, requestID: context.requestID)
            let details = try await write.store.write(scope) { tx in
                try await CardService.sensitiveDetails(raw, principal: principal, vault: vault, in: tx)
            }
            return try Reply.json(details, headers: ["Cache-Control": "no-store"]).response()
        }
    }
}
