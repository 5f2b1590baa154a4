import Hummingbird
import ZentraApp
import ZentraCore
import ZentraStorage

/// Disputes on cleared transactions: opened, submitted and withdrawn by the developer's side, the
/// network's outcome entered by an operator.
struct DisputesController {
    let write: WriteEndpoint
    let read: ReadEndpoint

    func register(on group: RouterGroup<AppRequestContext>) {
        group.post("/disputes") { request, context in
            try await write.run(request, context, input: OpenDisputeInput.self) { tx, input in
                try Reply.json(try await DisputeService.open(input, in: tx), status: .created)
            }
        }
        group.get("/disputes") { request, context in
            let page = try request.pageRequest()
            let transaction = try request.queryID("transaction", "transaction", as: TransactionID.self)
            return try await read.run(context) { try await $0.disputes.list(page, transaction: transaction) }
        }
        group.get("/disputes/{id}") { _, context in
            let id = try context.pathID("dispute", as: DisputeID.self)
            return try await read.run(context) { scope in
                try await scope.disputes.find(id).orMissing("dispute", id)
            }
        }
        group.get("/disputes/{id}/evidence") { _, context in
            let id = try context.pathID("dispute", as: DisputeID.self)
            return try await read.evidence(context) { try await DisputeEvidence.load(id, scope: $0) }
        }
        group.post("/disputes/{id}/submit") { request, context in
            let id = try context.pathID("dispute", as: DisputeID.self)
            return try await write.run(request, context, input: SubmitDisputeInput.self) { tx, input in
                try Reply.json(try await DisputeService.submit(id, input, in: tx))
            }
        }
        group.post("/disputes/{id}/withdraw") { request, context in
            let id = try context.pathID("dispute", as: DisputeID.self)
            return try await write.run(request, context, input: WithdrawDisputeInput.self) { tx, input in
                try Reply.json(try await DisputeService.withdraw(id, input, in: tx))
            }
        }
        group.post("/disputes/{id}/resolve") { request, context in
            let id = try context.pathID("dispute", as: DisputeID.self)
            return try await write.run(request, context, input: DisputeOutcomeInput.self) { tx, input in
                try Reply.json(try await DisputeService.resolve(id, input, in: tx))
            }
        }
    }
}
