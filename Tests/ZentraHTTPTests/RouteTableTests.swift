import Foundation
import HTTPTypes
import Testing
import ZentraCore
@testable import ZentraHTTP
import ZentraTestSupport

/// Every route of `openapi.yaml`, and every console page and action, walked from one table: each
/// role gets what `docs/roles.md` promises, and another tenant's key with this tenant's ids meets
/// 404 `resource_missing` on every route that names an object, and sees none of them anywhere.
/// A route missing from the table, or a table row the API does not serve, fails the test.
@Suite struct RouteTableTests {
    /// One row: the route as `openapi.yaml` names it, the roles besides admin that may call it
    /// (d developer, o operator, n network, r readonly), and a body that would succeed on this
    /// tenant's objects (`{customer}`, `{card}`, ... are filled in), or nil for "{}".
    struct Row: Sendable {
        let route: String
        let roles: String
        let foreignBody: String?

        init(_ route: String, _ roles: String, _ foreignBody: String? = nil) {
            self.route = route
            self.roles = roles
            self.foreignBody = foreignBody
        }

        var method: HTTPRequest.Method { HTTPRequest.Method(String(route.split(separator: " ")[0]))! }
        var path: String { String(route.split(separator: " ")[1]) }

        func allows(_ role: Role) -> Bool {
            role == .admin || roles.contains(role == .developer ? "d" : role == .operator ? "o" : role == .network ? "n" : "r")
        }
    }

    static let everyone = "donr"
    static let table: [Row] = [
        Row("POST /api-keys", ""), Row("GET /api-keys", ""), Row("DELETE /api-keys/{id}", ""),
        Row("GET /tenant", everyone), Row("POST /tenant", "", #"{"timezone": 5}"#),
        Row("POST /customers", "d"), Row("GET /customers", "do"), Row("GET /customers/{id}", "do"), Row("POST /customers/{id}/kyc", "o", #"{"status": "rejected"}"#),
        Row("POST /accounts", "d", #"{"customer": "{customer}", "currency": "USD"}"#), Row("GET /accounts", everyone),
        Row("GET /accounts/{id}", everyone), Row("POST /accounts/{id}/deposits", "d", #"{"amount_minor": 5, "transaction_reference": "steal"}"#),
        Row("POST /card-programs", "d"), Row("GET /card-programs", everyone), Row("GET /card-programs/{id}", everyone),
        Row("POST /cards", "d", #"{"customer": "{customer}", "account": "{account}", "program": "{program}", "type": "virtual"}"#),
        Row("GET /cards", everyone), Row("GET /cards/{id}", everyone),
        Row("POST /cards/{id}/lock", "do"), Row("POST /cards/{id}/unlock", "do"), Row("POST /cards/{id}/freeze", "do"),
        Row("POST /cards/{id}/unfreeze", "do"), Row("POST /cards/{id}/security", "d"), Row("POST /cards/{id}/limits", "d"),
        Row("POST /cards/{id}/fund", "d", #"{"amount_minor": 5, "transaction_reference": "steal"}"#), Row("POST /cards/{id}/terminate", everyone), Row("GET /cards/{id}/sensitive", ""),
        Row("POST /operator/cards/{id}/close", "o"),
        Row("GET /ledger/accounts", everyone), Row("GET /ledger/accounts/{id}", everyone), Row("GET /ledger/accounts/{id}/entries", everyone),
        Row("GET /ledger/journal-entries/{id}", everyone),
        Row("GET /events", everyone), Row("GET /events/{id}", everyone), Row("POST /events/{id}/redeliver", "o"),
        Row("GET /audit-log", "dor"), Row("GET /audit-log/verify", "dor"),
        Row("POST /runtime/intents", "do", #"""
            {"intent_id": "foreign", "operation": {"type": "deposit", "account": "{account}", "amount_minor": 5, "transaction_reference": "steal"}}
            """#),
        Row("GET /runtime/intents", everyone), Row("GET /runtime/intents/{id}", everyone),
        Row("POST /authorizations", "n", #"""
            {"card": "{card}", "amount_minor": 100, "currency": "USD", "channel": "online", "network_reference": "foreign",
             "merchant": {"id": "m_1", "name": "Shop", "mcc": "5411", "country": "US"}}
            """#),
        Row("GET /authorizations", everyone), Row("GET /authorizations/{id}", everyone), Row("GET /authorizations/{id}/evidence", everyone),
        Row("GET /authorizations/{id}/replay", everyone), Row("POST /authorizations/{id}/review", "o", #"{"decision": "approve"}"#),
        Row("POST /authorizations/{id}/reversals", "n"), Row("POST /authorizations/{id}/increments", "n", #"{"amount_minor": 5}"#),
        Row("POST /clearings", "n", #"""
            {"clearing_id": "foreign", "authorization": "{authorization}", "card": "{card}", "amount_minor": 100, "currency": "USD",
             "merchant": {"id": "m_1", "name": "Shop", "mcc": "5411", "country": "US"}}
            """#),
        Row("GET /clearings", everyone), Row("GET /clearings/{id}", everyone), Row("GET /clearings/{id}/evidence", everyone),
        Row("POST /clearing-files", "n"), Row("GET /clearing-files/{id}", everyone),
        Row("GET /reconciliation-cases", everyone), Row("GET /reconciliation-cases/{id}", everyone),
        Row("GET /reconciliation-cases/{id}/evidence", everyone), Row("POST /reconciliation-cases/{id}/assign", "o", #"{"owner": "me"}"#),
        Row("POST /reconciliation-cases/{id}/resolve", "o", #"{"resolution": "accepted"}"#),
        Row("POST /settlements", "no", #"{"currency": "USD"}"#), Row("GET /settlements", everyone), Row("GET /settlements/{id}", everyone),
        Row("GET /transactions", everyone), Row("GET /transactions/{id}", everyone),
        Row("POST /disputes", "do", #"""
            {"transaction": "{transaction}", "reason": "not_received", "amount_minor": 100, "provisional_credit": false}
            """#),
        Row("GET /disputes", everyone), Row("GET /disputes/{id}", everyone), Row("GET /disputes/{id}/evidence", everyone),
        Row("POST /disputes/{id}/submit", "do"), Row("POST /disputes/{id}/withdraw", "do"), Row("POST /disputes/{id}/resolve", "o", #"{"outcome": "won"}"#),
        Row("POST /webhook-endpoints", ""), Row("GET /webhook-endpoints", "o"), Row("GET /webhook-endpoints/{id}", "o"),
        Row("POST /webhook-endpoints/{id}", ""), Row("DELETE /webhook-endpoints/{id}", ""),
        Row("POST /webhook-endpoints/{id}/rotate-secret", ""), Row("GET /webhook-endpoints/{id}/deliveries", "o"),
        Row("POST /webhook-endpoints/{id}/enable", ""), Row("POST /webhook-endpoints/{id}/disable", ""),
    ]

    /// The console's routes that name an object: another tenant's operator meets 404 on each.
    static let consoleTable: [Row] = [
        Row("GET /console/cards/{id}", "o"), Row("GET /console/authorizations/{id}", "o"),
        Row("GET /console/authorizations/{id}/evidence.json", "o"), Row("GET /console/reconciliation-cases/{id}", "o"),
        Row("GET /console/disputes/{id}", "o"),
        Row("POST /console/authorizations/{id}/review", "o", "decision=approve"), Row("POST /console/cards/{id}/lock", "o"),
        Row("POST /console/cards/{id}/unlock", "o"), Row("POST /console/reconciliation-cases/{id}/assign", "o", "owner=me"),
        Row("POST /console/reconciliation-cases/{id}/resolve", "o", "resolution=accepted"), Row("POST /console/disputes/{id}/submit", "o"),
        Row("POST /console/disputes/{id}/resolve", "o", "outcome=won"), Row("POST /console/events/{id}/redeliver", "o"),
    ]

    @Test func theTableNamesEveryRouteTheAPIServesAndTheAccessPolicyNoOther() throws {
        let document = try OpenAPIDocument.load()
        let root = try #require(try JSONSerialization.jsonObject(with: Data(document.json)) as? [String: Any])
        let paths = try #require(root["paths"] as? [String: [String: Any]])
        var keyed: Set<String> = []
        for (path, item) in paths {
            for (method, operation) in item where ["get", "post", "put", "patch", "delete"].contains(method) {
                let open = ((operation as? [String: Any])?["security"] as? [Any])?.isEmpty == true
                if !open { keyed.insert("\(method.uppercased()) \(path)") }
            }
        }
        let rows = Set(Self.table.map(\.route))
        #expect(rows.count == Self.table.count, "a route appears twice in the table")
        #expect(keyed.subtracting(rows).isEmpty, "routes missing from the table: \(keyed.subtracting(rows).sorted())")
        #expect(rows.subtracting(keyed).isEmpty, "rows the API does not document: \(rows.subtracting(keyed).sorted())")
        let ruled = Set(AccessPolicy.rules.keys)
        #expect(ruled == rows, "access rules without a route: \(ruled.subtracting(rows).sorted()); routes without a rule: \(rows.subtracting(ruled).sorted())")

        let services = try makeServices(
            configuration: AppConfiguration(database: .sqlite(path: FileManager.default.temporaryDirectory.appendingPathComponent("routes-\(UUID()).sqlite").path)),
            logger: .init(label: "t"))
        let router = buildRouter(services: services, metrics: HTTPMetrics(), openAPI: document, views: try ConsoleViews.load())
        let consoleWithIDs = Set(router.routes.map { "\($0.method.rawValue) \($0.path)" }.filter { $0.contains("/console/") && $0.contains("{id}") })
        #expect(consoleWithIDs == Set(Self.consoleTable.map(\.route)), "\(consoleWithIDs.symmetricDifference(Self.consoleTable.map(\.route)).sorted())")
    }

    /// One object of each kind in the first tenant, by the collection its routes name.
    struct Objects {
        var ids: [String: String] = [:]

        /// The path with `{id}` replaced by the object its collection names.
        func fill(_ path: String) throws -> String {
            guard let range = path.range(of: "/{id}") else { return path }
            var collection = String(path[..<range.lowerBound])
            for prefix in ["/console", "/operator"] where collection.hasPrefix(prefix + "/") { collection.removeFirst(prefix.count) }
            let id = try #require(ids[collection], "no object for \(collection)")
            return path.replacingOccurrences(of: "{id}", with: id)
        }

        func fillBody(_ body: String) -> String {
            var body = body
            for (name, id) in [("{customer}", "/customers"), ("{account}", "/accounts"), ("{program}", "/card-programs"), ("{card}", "/cards"),
                               ("{authorization}", "/authorizations"), ("{transaction}", "/transactions")] {
                body = body.replacingOccurrences(of: name, with: ids[id] ?? "")
            }
            return body
        }
    }

    static func makeObjects(_ env: TestEnvironment) async throws -> (Objects, AuthorizationFixture) {
        let f = try await AuthorizationFixture.make(env, program: #", "review_rules": [{"type": "amount_over", "amount_minor": 5000}]"#)
        var objects = Objects()
        let card = try await env.get("/cards/\(f.card)").json
        objects.ids["/cards"] = f.card
        objects.ids["/accounts"] = f.account
        objects.ids["/customers"] = try #require(card["customer"] as? String)
        objects.ids["/card-programs"] = try #require(card["program"] as? String)
        let deposit = try await env.deposit(f.account, 500)
        objects.ids["/ledger/journal-entries"] = try #require(deposit.json["journal_entry"] as? String)
        objects.ids["/runtime/intents"] = try #require(deposit.json["intent"] as? String)
        objects.ids["/ledger/accounts"] = try #require(try await env.get("/ledger/accounts").list.first?["id"] as? String)
        objects.ids["/api-keys"] = try await env.post("/api-keys", #"{"role": "readonly"}"#).id
        objects.ids["/webhook-endpoints"] = try await env.post("/webhook-endpoints", #"{"url": "https://hooks.example.com/", "event_types": ["*"]}"#).id
        let inReview = try await f.authorize(6_000)
        #expect(inReview.status_ == "review", "\(inReview.text)")
        objects.ids["/authorizations"] = inReview.id
        let transaction = try await f.purchase(1_000)
        objects.ids["/transactions"] = transaction
        let forced = try await f.clear(300, reference: "never-authorized")
        objects.ids["/clearings"] = forced.id
        objects.ids["/reconciliation-cases"] = try #require(forced.json["reconciliation_case"] as? String)
        let file = try await f.sendFile("F-1", ClearingFileTests.header + "\nc-f,,,\(f.card),200,USD,m1,Shop,5411,US")
        #expect(file.status == .ok, "\(file.text)")
        objects.ids["/clearing-files"] = "F-1"
        objects.ids["/settlements"] = try await env.post("/settlements", #"{"currency": "USD"}"#, key: f.network).id
        objects.ids["/disputes"] = try await f.openDispute(transaction, 100, provisional: false).id
        objects.ids["/events"] = try #require(try await env.get("/events").list.first?["id"] as? String)
        for (collection, id) in objects.ids { #expect(!id.isEmpty, "\(collection) was not created") }
        return (objects, f)
    }

    @Test(arguments: Backend.allCases)
    func anotherTenantMeetsResourceMissingOnEveryRouteAndSeesNothing(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let (objects, _) = try await Self.makeObjects(env)
            let other = try await env.otherTenantKey()
            let ours = Array(objects.ids.values) + [env.tenant.rawValue]
            let footprint = try await env.footprint(of: env.tenant)
            for row in Self.table {
                let path = try objects.fill(row.path)
                let body = row.foreignBody.map(objects.fillBody)
                    ?? (row.route == "POST /clearing-files" ? ClearingFileTests.header + "\nc-x,,,\(objects.ids["/cards"]!),1,USD,m,S,5411,US" : "{}")
                let reply = try await env.request(row.method, path + (row.route == "POST /clearing-files" ? "?file_id=foreign" : ""),
                                                  json: row.method == .get || row.method == .delete ? nil : body, key: other,
                                                  headers: row.route == "POST /clearing-files" ? ["Content-Type": "text/csv"] : [:])
                #expect(reply.status.code < 500, "\(row.route): \(reply.text)")
                if row.path.contains("{id}") || row.foreignBody?.contains(#""{"#) == true {
                    #expect(reply.status == .notFound && reply.errorCode == "resource_missing", "\(row.route) reached another tenant: \(reply.status) \(reply.text)")
                }
                let leaked = ours.filter { reply.text.contains($0) && !path.contains($0) && !body.contains($0) }
                #expect(leaked.isEmpty, "\(row.route) shows another tenant's \(leaked)")
            }
            #expect(try await env.footprint(of: env.tenant) == footprint, "another tenant's calls changed nothing")

            // The console, signed in with the other tenant's operator key.
            let operatorKey = try #require(try await env.post("/api-keys", #"{"role": "operator"}"#, key: other).json["api_key"] as? String)
            let (_, cookie) = try await ConsoleTests.signIn(env, key: operatorKey)
            let session = try #require(cookie)
            let dashboard = try await ConsoleTests.send(env, .get, "/console", cookie: session)
            let csrf = try #require(dashboard.html.firstMatch(of: /name="csrf" value="([^"]+)"/)?.1)
            for row in Self.consoleTable {
                let form = row.method == .post ? "csrf=\(csrf)" + (row.foreignBody.map { "&" + $0 } ?? "") : nil
                let page = try await ConsoleTests.send(env, row.method, try objects.fill(row.path), cookie: session, form: form)
                #expect(page.status == .notFound, "\(row.route) reached another tenant: \(page.status)")
            }
            let card = try await env.get("/cards/\(objects.ids["/cards"]!)").json
            for path in ["/console", "/console/review", "/console/webhooks", "/console/audit", "/console/search?q=\(card["last4"] as? String ?? "")",
                         "/console/search?q=never-authorized"] {
                let page = try await ConsoleTests.send(env, .get, path, cookie: session)
                #expect(page.status == .ok, "\(path): \(page.status)")
                #expect(ours.filter { page.html.contains($0) }.isEmpty, "\(path) shows another tenant's objects")
            }
            #expect(try await env.footprint(of: env.tenant) == footprint, "the console's actions changed nothing either")
        }
    }

    @Test(arguments: Backend.allCases)
    func everyRoleGetsExactlyTheRoutesOfItsRow(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            var keys: [Role: String] = [.admin: env.adminKey]
            for role in Role.allCases where role != .admin { keys[role] = try await env.createKey(role: role.rawValue) }
            for row in Self.table {
                // Ids that name nothing and bodies that say nothing: an allowed call is refused for
                // its input (4xx), never for its role, and changes nothing.
                let path = row.path.replacingOccurrences(of: "{id}", with: "missing")
                for role in Role.allCases {
                    let reply = try await env.request(row.method, path, json: row.method == .get || row.method == .delete ? nil : #"{"timezone": 5}"#,
                                                      key: keys[role]!)
                    #expect(reply.status.code < 500, "\(row.route) as \(role): \(reply.text)")
                    if row.allows(role) {
                        #expect(reply.status != .forbidden && reply.status != .unauthorized, "\(row.route) refused \(role): \(reply.text)")
                    } else {
                        #expect(reply.status == .forbidden, "\(row.route) let \(role) in: \(reply.status) \(reply.text)")
                        let code = row.route == "GET /cards/{id}/sensitive" ? "sensitive_details_unavailable" : "forbidden"
                        #expect(reply.errorCode == code, "\(row.route) as \(role): \(reply.text)")
                    }
                }
            }
        }
    }
}
