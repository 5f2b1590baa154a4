import ZentraCore

/// Every console address, spelled once: the router registers `pattern`, and pages, redirects and
/// templates link with `path(_:)`, so a page cannot link to an address nothing serves.
struct ConsoleRoute: Sendable {
    /// The address under `/console`, with `{id}` where an object's id goes.
    let pattern: String

    static let prefix = "/console"

    static let dashboard = ConsoleRoute(pattern: "")
    static let login = ConsoleRoute(pattern: "login")
    /// The sign-in form's earlier address, redirected to `login`.
    static let signInEarlier = ConsoleRoute(pattern: "sign-in")
    static let signOut = ConsoleRoute(pattern: "sign-out")
    static let review = ConsoleRoute(pattern: "review")
    static let search = ConsoleRoute(pattern: "search")
    static let webhooks = ConsoleRoute(pattern: "webhooks")
    static let audit = ConsoleRoute(pattern: "audit")
    static let stylesheet = ConsoleRoute(pattern: "assets/console.css")
    static let script = ConsoleRoute(pattern: "assets/console.js")

    static let card = ConsoleRoute(pattern: "cards/{id}")
    static let cardLock = ConsoleRoute(pattern: "cards/{id}/lock")
    static let cardUnlock = ConsoleRoute(pattern: "cards/{id}/unlock")
    static let authorization = ConsoleRoute(pattern: "authorizations/{id}")
    static let authorizationReview = ConsoleRoute(pattern: "authorizations/{id}/review")
    static let authorizationEvidence = ConsoleRoute(pattern: "authorizations/{id}/evidence.json")
    static let reconciliationCase = ConsoleRoute(pattern: "reconciliation-cases/{id}")
    static let reconciliationCaseAssign = ConsoleRoute(pattern: "reconciliation-cases/{id}/assign")
    static let reconciliationCaseResolve = ConsoleRoute(pattern: "reconciliation-cases/{id}/resolve")
    static let dispute = ConsoleRoute(pattern: "disputes/{id}")
    static let disputeSubmit = ConsoleRoute(pattern: "disputes/{id}/submit")
    static let disputeResolve = ConsoleRoute(pattern: "disputes/{id}/resolve")
    static let eventRedeliver = ConsoleRoute(pattern: "events/{id}/redeliver")

    /// The absolute address of a route without an id.
    var path: String { pattern.isEmpty ? Self.prefix : "\(Self.prefix)/\(pattern)" }

    /// The absolute address of an object's route.
    func path(_ id: some CustomStringConvertible) -> String {
        path.replacingOccurrences(of: "{id}", with: id.description)
    }
}

/// The addresses every page's header and footer link to, handed to the templates.
struct ConsoleLinks: Sendable {
    let dashboard = ConsoleRoute.dashboard.path
    let review = ConsoleRoute.review.path
    let webhooks = ConsoleRoute.webhooks.path
    let audit = ConsoleRoute.audit.path
    let search = ConsoleRoute.search.path
    let signOut = ConsoleRoute.signOut.path
    let login = ConsoleRoute.login.path
    let stylesheet = ConsoleRoute.stylesheet.path
    let script = ConsoleRoute.script.path
}
