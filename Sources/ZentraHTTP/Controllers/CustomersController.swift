import Hummingbird
import ZentraApp
import ZentraCore
import ZentraStorage

/// Customers and KYC.
struct CustomersController {
    let write: WriteEndpoint
    let read: ReadEndpoint

    struct KYCUpdate: Decodable, Sendable {
        var status: String
    }

    func register(on group: RouterGroup<AppRequestContext>) {
        group.post("/customers") { request, context in
            try await write.run(request, context, input: CreateCustomer.self) { tx, input in
                try Reply.json(try await CustomerService.create(input, in: tx), status: .created)
            }
        }
        group.get("/customers") { request, context in
            let page = try request.pageRequest()
            return try await read.run(context) { try await $0.customers.list(page) }
        }
        group.get("/customers/{id}") { _, context in
            let id = try context.pathID("customer", as: CustomerID.self)
            return try await read.run(context) { scope in
                try await scope.customers.find(id).orMissing("customer", id)
            }
        }
        group.post("/customers/{id}/kyc") { request, context in
            let id = try context.pathID("customer", as: CustomerID.self)
            return try await write.run(request, context, input: KYCUpdate.self) { tx, input in
                try Reply.json(try await CustomerService.updateKYC(id, status: input.status, in: tx))
            }
        }
    }
}
