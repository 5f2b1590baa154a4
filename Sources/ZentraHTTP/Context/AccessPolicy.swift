import HTTPTypes
import ZentraApp
import ZentraCore

/// Which roles may call which route: the one table, enforced for every API request by
/// `AuthMiddleware` before the route runs, and for the console's actions by the API route each
/// one mirrors. Admin keys may call every route. `docs/roles.md` is this table in prose.
///
/// A route the table does not name is refused for every role but admin (fail closed);
/// `RouteTableTests` keeps the table, the router and `openapi.yaml` in step.
enum AccessPolicy {
    /// A route as the router names it: `"POST /cards/{id}/lock"`.
    typealias Route = String

    struct Rule: Sendable {
        /// The roles besides admin that may call the route.
        let roles: Set<Role>
        /// The error code of a refusal: `forbidden`, unless the route documents another (`docs/conventions.md`, "Errors").
        var refusalCode = "forbidden"
    }

    private static let everyone: Set<Role> = [.developer, .operator, .network, .readonly]
    /// Customers' personal data: not the card network's keys, nor readonly ones.
    private static let customerReaders: Set<Role> = [.developer, .operator]

    static let rules: [Route: Rule] = {
        var rules: [Route: Rule] = [:]
        func allow(_ roles: Set<Role>, _ routes: Route...) {
            for route in routes {
                precondition(rules[route] == nil, "\(route) has two rules")
                rules[route] = Rule(roles: roles)
            }
        }
        allow([], "POST /api-keys", "GET /api-keys", "DELETE /api-keys/{id}", "POST /tenant")
        allow(everyone, "GET /tenant")

        allow([.developer], "POST /customers")
        allow(customerReaders, "GET /customers", "GET /customers/{id}")
        allow([.operator], "POST /customers/{id}/kyc")

        allow([.developer], "POST /accounts", "POST /accounts/{id}/deposits", "POST /card-programs", "POST /cards",
              "POST /cards/{id}/security", "POST /cards/{id}/limits", "POST /cards/{id}/fund")
        allow([.developer, .operator], "POST /cards/{id}/lock", "POST /cards/{id}/unlock", "POST /cards/{id}/freeze",
              "POST /cards/{id}/unfreeze")
        allow([.operator], "POST /operator/cards/{id}/close")
        // Answers 404 to everyone: there is no such operation, and the answer says what to call.
        allow(everyone, "POST /cards/{id}/terminate")
        rules["GET /cards/{id}/sensitive"] = Rule(roles: [], refusalCode: "sensitive_details_unavailable")

        allow([.network], "POST /authorizations", "POST /authorizations/{id}/reversals", "POST /authorizations/{id}/increments",
              "POST /clearings", "POST /clearing-files")
        allow([.operator], "POST /authorizations/{id}/review", "POST /reconciliation-cases/{id}/assign",
              "POST /reconciliation-cases/{id}/resolve", "POST /disputes/{id}/resolve", "POST /events/{id}/redeliver")
        allow([.network, .operator], "POST /settlements")
        allow([.developer, .operator], "POST /disputes", "POST /disputes/{id}/submit", "POST /disputes/{id}/withdraw",
              "POST /runtime/intents")

        allow([], "POST /webhook-endpoints", "POST /webhook-endpoints/{id}", "DELETE /webhook-endpoints/{id}",
              "POST /webhook-endpoints/{id}/rotate-secret", "POST /webhook-endpoints/{id}/enable", "POST /webhook-endpoints/{id}/disable")
        allow([.operator], "GET /webhook-endpoints", "GET /webhook-endpoints/{id}", "GET /webhook-endpoints/{id}/deliveries")

        allow([.developer, .operator, .readonly], "GET /audit-log", "GET /audit-log/verify")
        allow(everyone,
              "GET /accounts", "GET /accounts/{id}", "GET /card-programs", "GET /card-programs/{id}", "GET /cards", "GET /cards/{id}",
              "GET /ledger/accounts", "GET /ledger/accounts/{id}", "GET /ledger/accounts/{id}/entries", "GET /ledger/journal-entries/{id}",
              "GET /events", "GET /events/{id}", "GET /runtime/intents", "GET /runtime/intents/{id}",
              "GET /authorizations", "GET /authorizations/{id}", "GET /authorizations/{id}/evidence", "GET /authorizations/{id}/replay",
              "GET /clearings", "GET /clearings/{id}", "GET /clearings/{id}/evidence", "GET /clearing-files/{id}",
              "GET /reconciliation-cases", "GET /reconciliation-cases/{id}", "GET /reconciliation-cases/{id}/evidence",
              "GET /settlements", "GET /settlements/{id}", "GET /transactions", "GET /transactions/{id}",
              "GET /disputes", "GET /disputes/{id}", "GET /disputes/{id}/evidence")
        return rules
    }()

    /// The route a runtime intent's operation runs as: its caller needs that route's roles too.
    static func route(ofIntentOperation kind: CreateIntent.Operation.Kind?) -> Route? {
        switch kind {
        case .deposit: "POST /accounts/{id}/deposits"
        case .kycUpdate: "POST /customers/{id}/kyc"
        case nil: nil
        }
    }

    /// The route of a request, as the table names it; HEAD reads as its GET.
    static func route(method: HTTPRequest.Method, path: String) -> Route {
        "\(method == .head ? "GET" : method.rawValue) \(path)"
    }

    /// Passes when `principal` may call `route`; 403 otherwise, naming the roles that may.
    static func check(_ principal: Principal, _ route: Route) throws {
        guard principal.role != .admin else { return }
        let rule = rules[route] ?? Rule(roles: [])
        guard !rule.roles.contains(principal.role) else { return }
        let allowed = ([Role.admin] + Role.allCases.filter { rule.roles.contains($0) }).map(\.rawValue)
        throw DomainError(.forbidden, code: rule.refusalCode,
                          message: "\(route) needs one of the roles: \(allowed.joined(separator: ", ")); this key is \(principal.role.rawValue).")
    }
}
