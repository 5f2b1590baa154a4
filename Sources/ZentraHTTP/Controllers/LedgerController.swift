import Hummingbird
import ZentraCore
import ZentraStorage

/// The double-entry ledger, read-only: accounts with their totals, their entries, journal entries.
struct LedgerController {
    let read: ReadEndpoint

    func register(on group: RouterGroup<AppRequestContext>) {
        group.get("/ledger/accounts") { request, context in
            let page = try request.pageRequest()
            return try await read.run(context) { try await $0.ledger.accounts(page) }
        }
        group.get("/ledger/accounts/{id}") { _, context in
            let id = try context.pathID("ledger account", as: LedgerAccountID.self)
            return try await read.run(context) { scope in
                try await scope.ledger.account(id).orMissing("ledger account", id)
            }
        }
        group.get("/ledger/accounts/{id}/entries") { request, context in
            let id = try context.pathID("ledger account", as: LedgerAccountID.self)
            let page = try request.pageRequest()
            return try await read.run(context) { scope in
                _ = try await scope.ledger.account(id).orMissing("ledger account", id)
                return try await scope.ledger.entries(of: id, page)
            }
        }
        group.get("/ledger/journal-entries/{id}") { _, context in
            let id = try context.pathID("journal entry", as: JournalEntryID.self)
            return try await read.run(context) { scope in
                try await scope.ledger.journalEntry(id).orMissing("journal entry", id)
            }
        }
    }
}
