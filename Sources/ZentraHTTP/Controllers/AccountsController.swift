import Hummingbird
import ZentraApp
import ZentraCore
import ZentraStorage

/// Accounts, their balances, and deposits.
struct AccountsController {
    let write: WriteEndpoint
    let read: ReadEndpoint

    func register(on group: RouterGroup<AppRequestContext>) {
        group.post("/accounts") { request, context in
            try await write.run(request, context, input: CreateAccount.self) { tx, input in
                try Reply.json(try await AccountService.create(input, in: tx), status: .created)
            }
        }
        group.get("/accounts") { request, context in
            let page = try request.pageRequest()
            return try await read.run(context) { try await $0.accounts.list(page) }
        }
        group.get("/accounts/{id}") { _, context in
            let raw = try context.pathID()
            return try await read.run(context) { scope in
                try await scope.accounts.find(try AccountID(raw).orMissing("account", raw)).orMissing("account", raw)
            }
        }
        group.post("/accounts/{id}/deposits") { request, context in
            let raw = try context.pathID()
            return try await write.run(request, context, input: CreateDeposit.self) { tx, input in
                try Reply.json(try await AccountService.deposit(into: raw, input, in: tx))
            }
        }
    }
}
