import Hummingbird
import ZentraApp
import ZentraCore
import ZentraStorage

/// The network side: decisions, reversals, increments; the operator's review queue; evidence.
///
/// `POST /authorizations` is keyed by its `network_reference` (a replay answers the first decision),
/// is decided set-based with the other requests of its batch, and may need two decisions around a
/// call to the customer's webhook, so it runs through the `Authorizer` rather than `WriteEndpoint`;
/// everything else after it is a plain write.
struct AuthorizationsController {
    let write: WriteEndpoint
    let read: ReadEndpoint
    let authorizer: Authorizer

    static let decisionsPath = "/authorizations"

    func register(on group: RouterGroup<AppRequestContext>) {
        group.post(RouterPath(Self.decisionsPath)) { request, context in
            let principal = try context.caller()
            let receivedAt = write.store.clock.now()
            let input = try AuthorizationRequest(try AuthorizeInput(json: try await jsonObject(request, context: context)), receivedAt: receivedAt)
            let scope = WriteScope(tenant: principal.tenant, actor: principal.actor, requestID: context.requestID)
            return Reply.decision(try await authorizer.authorize(input, scope: scope, keyID: principal.keyID?.rawValue).map(\.serialized)).response()
        }
        group.get("/authorizations") { request, context in
            let page = try request.pageRequest()
            let status = try request.query("status", as: AuthorizationStatus.self)
            let card = try request.queryID("card", "card", as: CardID.self)
            return try await read.run(context) { try await $0.authorizations.list(page, status: status, card: card) }
        }
        group.get("/authorizations/{id}") { _, context in
            let id = try context.pathID("authorization", as: AuthorizationID.self)
            return try await read.run(context) { scope in
                try await scope.authorizations.find(id).orMissing("authorization", id)
                    .authorization.json
            }
        }
        group.get("/authorizations/{id}/evidence") { _, context in
            let id = try context.pathID("authorization", as: AuthorizationID.self)
            return try await read.evidence(context) { scope in try await AuthorizationEvidence.load(id, scope: scope) }
        }
        group.get("/authorizations/{id}/replay") { _, context in
            let id = try context.pathID("authorization", as: AuthorizationID.self)
            return try await read.run(context) { scope in try await AuthorizationReplay.run(id, scope: scope) }
        }
        group.post("/authorizations/{id}/review") { request, context in
            let id = try context.pathID("authorization", as: AuthorizationID.self)
            return try await write.run(request, context, input: ReviewDecisionInput.self) { tx, input in
                try Reply.json(try await AuthorizationService.settleReview(id, input, operator: tx.scope.actor, in: tx).json)
            }
        }
        group.post("/authorizations/{id}/reversals") { request, context in
            let id = try context.pathID("authorization", as: AuthorizationID.self)
            return try await write.run(request, context, input: ReverseInput.self) { tx, input in
                try Reply.json(try await AuthorizationService.reverse(id, input, in: tx).json)
            }
        }
        group.post("/authorizations/{id}/increments") { request, context in
            let id = try context.pathID("authorization", as: AuthorizationID.self)
            return try await write.run(request, context, input: IncrementInput.self) { tx, input in
                try Reply.json(try await AuthorizationService.increment(id, input, in: tx).json)
            }
        }
    }
}
