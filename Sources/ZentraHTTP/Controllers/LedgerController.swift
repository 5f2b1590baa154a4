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
            let raw = try context.pathID()
            return try await read.run(context) { scope in
                try await scope.ledger.account(try LedgerAccountID(raw).orMissing("ledger account", raw)).orMissing("ledger account", raw)
            }
        }
        group.get("/ledger/accounts/{id}/entries") { request, context in
            let raw = try context.pathID()
            let page = try request.pageRequest()
            return try await read.run(context) { scope in
                let id = try LedgerAccountID(raw).orMissing("ledger account", raw)
                _ = try await scope.ledger.account(id).orMissing("ledger account", raw)
                return try await scope.ledger.entries(of: id, page)
            }
        }
        group.get("/ledger/journal-entries/{id}") { _, context in
            let raw = try context.pathID()
            return try await read.run(context) { scope in
                try await scope.ledger.journalEntry(try JournalEntryID(raw).orMissing("journal entry", raw)).orMissing("journal entry", raw)
            }
        }
    }
}
