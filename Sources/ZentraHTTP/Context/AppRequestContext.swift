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
    public var bodyBytes_max: Int = AppConfiguration.defaultBodyBytes_max

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }

    public var maxUploadSize: Int { bodyBytes_max }

    /// The caller, or 401 when the route needs one and none was authenticated.
    public func caller() throws -> Principal {
        guard let principal else { throw DomainError.unauthenticated() }
        return principal
    }

    /// The caller, if `AccessPolicy` lets its role call `route`; 403 otherwise.
    func require(_ route: AccessPolicy.Route) throws -> Principal {
        let principal = try caller()
        try AccessPolicy.check(principal, route)
        return principal
    }
}
