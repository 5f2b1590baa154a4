import Hummingbird
import ZentraApp
import ZentraCore
import ZentraStorage

/// Card programs: created by admin or developer keys, read by any.
struct CardProgramsController {
    let write: WriteEndpoint
    let read: ReadEndpoint
    let urlPolicy: OutboundURLPolicy
    let vault: CardVault

    func register(on group: RouterGroup<AppRequestContext>) {
        group.post("/card-programs") { request, context in
            try await write.run(request, context, input: CreateCardProgram.self) { tx, input in
                let (program, secret) = try await CardProgramService.create(input, urlPolicy: urlPolicy, vault: vault, in: tx)
                return try Reply.json(WithSecret(program, secret: secret, as: "authorization_webhook_secret"), status: .created)
            }
        }
        group.get("/card-programs") { request, context in
            let page = try request.pageRequest()
            return try await read.run(context) { try await $0.cardPrograms.list(page) }
        }
        group.get("/card-programs/{id}") { _, context in
            let id = try context.pathID("card program", as: CardProgramID.self)
            return try await read.run(context) { scope in
                try await scope.cardPrograms.find(id).orMissing("card program", id)
            }
        }
    }
}
