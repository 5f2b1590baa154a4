import Hummingbird
import ZentraApp
import ZentraCore
import ZentraStorage

/// Events (and their redelivery to webhook endpoints), the audit log with its verification, and
/// runtime intents.
struct EventsController {
    let write: WriteEndpoint
    let read: ReadEndpoint

    func register(on group: RouterGroup<AppRequestContext>) {
        group.get("/events") { request, context in
            let page = try request.pageRequest()
            let type = try request.query("type", as: EventType.self)
            return try await read.run(context) { try await $0.events.list(page, type: type) }
        }
        group.get("/events/{id}") { _, context in
            let id = try context.pathID("event", as: EventID.self)
            return try await read.run(context) { scope in
                try await scope.events.find(id).orMissing("event", id)
            }
        }
        group.post("/events/{id}/redeliver") { request, context in
            let id = try context.pathID("event", as: EventID.self)
            return try await write.run(request, context, input: RedeliverEvent.self) { tx, input in
                try Reply.json(Page(data: try await WebhookDeliveryService.redeliver(id, input, in: tx), hasMore: false), status: .accepted)
            }
        }
        group.get("/audit-log") { request, context in
            let page = try request.pageRequest()
            return try await read.run(context) { try await $0.auditLog.list(page) }
        }
        group.get("/audit-log/verify") { _, context in
            return try await read.run(context) { try await $0.auditLog.verifyFromCheckpoint() }
        }
        group.post("/runtime/intents") { request, context in
            try await write.run(request, context, input: CreateIntent.self,
                                implicitKey: { "runtime_intent:" + $0.intentId }) { tx, input in
                if let route = AccessPolicy.route(ofIntentOperation: input.operation?.kind) { _ = try context.require(route) }
                return try Reply.json(try await IntentService.create(input, in: tx), status: .created)
            }
        }
        group.get("/runtime/intents") { request, context in
            let page = try request.pageRequest()
            return try await read.run(context) { try await $0.intents.list(page) }
        }
        group.get("/runtime/intents/{id}") { _, context in
            let raw = try context.parameters.require("id")
            return try await read.run(context) { scope in
                // Intents recorded as they ran, or derived from the rows of a money operation.
                if let recorded = try await scope.intents.find(raw) { return recorded }
                return try await DerivedIntents.intent(raw, scope: scope).orMissing("runtime intent", raw)
            }
        }
    }
}
