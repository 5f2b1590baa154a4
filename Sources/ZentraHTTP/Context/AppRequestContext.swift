import Hummingbird
import ZentraCore
import ZentraStorage

/// Per-request state: the request id, the authenticated caller, and the body limit in force.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var requestID: String = ""
    public var principal: Principal?
    /// The console session a signed-in operator's request carries (its CSRF token with it).
    public var consoleSession: ConsoleSession?
    public var bodyLimit_bytes: Int = AppConfiguration.defaultBodyLimit_bytes

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }

    public var maxUploadSize: Int { bodyLimit_bytes }

    /// The caller, or 401 when the route needs one and none was authenticated.
    public func caller() throws -> Principal {
        guard let principal else { throw DomainError.unauthenticated() }
        return principal
    }

    /// The caller, if its role is one of `roles` (admin always is); 403 otherwise.
    public func require(_ roles: Role...) throws -> Principal { try require(roles) }

    public func require(_ roles: [Role]) throws -> Principal {
        let principal = try caller()
        guard principal.role == .admin || roles.contains(principal.role) else {
            let allowed = (roles.contains(.admin) ? roles : roles + [.admin]).map(\.rawValue)
            throw DomainError.forbidden("This action needs one of the roles: \(allowed.joined(separator: ", ")); this key is \(principal.role.rawValue).")
        }
        return principal
    }
}
