import Hummingbird
import ZentraApp
import ZentraCore
import ZentraStorage

/// The caller's tenant and its settings (the time zone of spend windows).
struct TenantController {
    let write: WriteEndpoint
    let read: ReadEndpoint

    func register(on group: RouterGroup<AppRequestContext>) {
        group.get("/tenant") { _, context in
            try await read.run(context) { try await $0.tenantSettings.record() }
        }
        group.post("/tenant") { request, context in
            try await write.run(request, context, input: TenantSettings.self) { tx, input in
                try Reply.json(try await TenantService.update(input, in: tx))
            }
        }
    }
}
