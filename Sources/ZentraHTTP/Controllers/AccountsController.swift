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
            let id = try context.pathID("account", as: AccountID.self)
            return try await read.run(context) { scope in
                try await scope.accounts.find(id).orMissing("account", id)
            }
        }
        group.post("/accounts/{id}/deposits") { request, context in
            let id = try context.pathID("account", as: AccountID.self)
            return try await write.run(request, context, input: CreateDeposit.self) { tx, input in
                try Reply.json(try await AccountService.deposit(into: id, input, in: tx))
            }
        }
    }
}
