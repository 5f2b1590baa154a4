import Hummingbird
import ZentraApp
import ZentraCore
import ZentraStorage

/// Webhook endpoints: admin keys manage them; the signing secret is in the creation and rotation
/// answers only. Operators, who redeliver events and watch failing endpoints in the console, may
/// read them and their deliveries with every attempt.
struct WebhookEndpointsController {
    let write: WriteEndpoint
    let read: ReadEndpoint
    let urlPolicy: OutboundURLPolicy
    let vault: CardVault

    func register(on group: RouterGroup<AppRequestContext>) {
        group.post("/webhook-endpoints") { request, context in
            try await write.run(request, context, input: CreateWebhookEndpoint.self) { tx, input in
                let (endpoint, secret) = try await WebhookEndpointService.create(input, urlPolicy: urlPolicy, vault: vault, in: tx)
                return try Reply.json(WithSecret(endpoint, secret: secret, as: "secret"), status: .created)
            }
        }
        group.get("/webhook-endpoints") { request, context in
            let page = try request.pageRequest()
            return try await read.run(context) { try await $0.webhookEndpoints.list(page) }
        }
        group.get("/webhook-endpoints/{id}") { _, context in
            let id = try context.pathID("webhook_endpoint", as: WebhookEndpointID.self)
            return try await read.run(context) { scope in
                try await scope.webhookEndpoints.find(id).orMissing("webhook_endpoint", id)
            }
        }
        group.post("/webhook-endpoints/{id}") { request, context in
            let id = try context.pathID("webhook_endpoint", as: WebhookEndpointID.self)
            return try await write.run(request, context, input: UpdateWebhookEndpoint.self) { tx, input in
                try Reply.json(try await WebhookEndpointService.update(id, input, urlPolicy: urlPolicy, in: tx))
            }
        }
        group.delete("/webhook-endpoints/{id}") { request, context in
            let id = try context.pathID("webhook_endpoint", as: WebhookEndpointID.self)
            return try await write.run(request, context, input: Empty.self) { tx, _ in
                try Reply.json(Deleted(id: try await WebhookEndpointService.delete(id, in: tx).id.rawValue, object: ObjectType.webhookEndpoint.rawValue))
            }
        }
        group.post("/webhook-endpoints/{id}/rotate-secret") { request, context in
            let id = try context.pathID("webhook_endpoint", as: WebhookEndpointID.self)
            return try await write.run(request, context, input: RotateWebhookSecret.self) { tx, input in
                let (endpoint, secret) = try await WebhookEndpointService.rotate(id, input, vault: vault, in: tx)
                return try Reply.json(WithSecret(endpoint, secret: secret, as: "secret"))
            }
        }
        group.get("/webhook-endpoints/{id}/deliveries") { request, context in
            let id = try context.pathID("webhook_endpoint", as: WebhookEndpointID.self)
            let page = try request.pageRequest()
            let status = try request.query("status", as: WebhookDelivery.Status.self)
            return try await read.run(context) { scope in
                _ = try await scope.webhookEndpoints.find(id).orMissing("webhook_endpoint", id)
                return try await scope.webhookDeliveries.list(endpoint: id, page, status: status)
            }
        }
        for status in WebhookEndpoint.Status.allCases {
            let path = status == .enabled ? "enable" : "disable"
            group.post("/webhook-endpoints/{id}/\(path)") { request, context in
                let id = try context.pathID("webhook_endpoint", as: WebhookEndpointID.self)
                return try await write.run(request, context, input: Empty.self) { tx, _ in
                    try Reply.json(try await WebhookEndpointService.setStatus(id, status, in: tx))
                }
            }
        }
    }
}
