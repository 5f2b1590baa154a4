import Hummingbird
import ZentraCore
import ZentraStorage

/// `POST /api-keys`, `GET /api-keys`, `DELETE /api-keys/{id}`: admin keys manage the tenant's keys.
struct APIKeysController {
    let write: WriteEndpoint
    let read: ReadEndpoint

    struct CreateKey: Decodable, Sendable {
        var role: String
        var name: String?
    }

    /// The created key: the only time the secret is shown.
    struct CreatedKey: Encodable, CarriesSecret {
        var carriesSecret: Bool { true }
        let id: APIKeyID
        let object = ObjectType.apiKey.rawValue
        let apiKey: String
        let role: Role
        let name: String?
        let keyPrefix: String
        let createdAt: Timestamp
    }

    func register(on group: RouterGroup<AppRequestContext>) {
        group.post("/api-keys") { request, context in
            try await write.run(request, context, input: CreateKey.self) { tx, input in
                guard let role = Role(rawValue: input.role) else {
                    throw DomainError.parameterInvalid("role", "must be one of \(Role.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                let name = try input.name.map { name -> String in
                    guard name.count <= 200 else { throw DomainError.parameterInvalid("name", "must be at most 200 characters") }
                    return name
                }
                let issued = try await tx.apiKeys.create(role: role, name: name)
                return try Reply.json(CreatedKey(id: issued.id, apiKey: issued.apiKey, role: role, name: name,
                                                 keyPrefix: issued.key.keyPrefix, createdAt: issued.key.createdAt), status: .created)
            }
        }
        group.get("/api-keys") { request, context in
            let page = try request.pageRequest()
            return try await read.run(context) { try await $0.apiKeys.list(page) }
        }
        group.delete("/api-keys/{id}") { request, context in
            let id = try context.pathID("api_key", as: APIKeyID.self)
            return try await write.run(request, context, input: Empty.self) { tx, _ in
                return try Reply.json(try await tx.apiKeys.revoke(id))
            }
        }
    }
}
