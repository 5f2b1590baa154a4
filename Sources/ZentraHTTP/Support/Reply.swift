import HTTPTypes
import Hummingbird
import NIOCore
import ZentraApp
import ZentraCore
import ZentraStorage

/// A response as bytes: what a handler answers and what an idempotency record keeps.
struct Reply: Sendable {
    var status: HTTPResponse.Status
    var headers: [String: String]
    var body: [UInt8]
    /// It shows a secret once: sent with `Cache-Control: no-store`, kept sealed for replays.
    var carriesSecret = false

    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok, headers: [String: String] = [:]) throws -> Reply {
        // A value already rendered as JSON skips the encoder (as one that writes itself does in `encode`).
        let body = try (value as? JSONValue)?.serialized ?? ZentraJSON.encode(value)
        var base = ["Content-Type": "application/json"]
        // An answer that shows a secret once is kept by no cache.
        let carriesSecret = (value as? any CarriesSecret)?.carriesSecret == true
        if carriesSecret { base["Cache-Control"] = "no-store" }
        var reply = Reply(status: status, headers: base.merging(headers) { $1 }, body: body)
        reply.carriesSecret = carriesSecret
        return reply
    }

    /// 201 for what this request made, 200 for what its reference made before.
    static func json<Value: Encodable>(_ outcome: ReferencedOutcome<Value>, headers: [String: String] = [:]) throws -> Reply {
        try json(outcome.value, status: status(of: outcome), headers: headers)
    }

    /// A decision: 201, and a replay of its `network_reference` the same 201 with
    /// `Idempotent-Replayed: true`, as a replayed idempotency key answers.
    static func decision(_ outcome: ReferencedOutcome<[UInt8]>) -> Reply {
        var headers = ["Content-Type": "application/json"]
        if case .existing = outcome { headers["Idempotent-Replayed"] = "true" }
        return Reply(status: .created, headers: headers, body: outcome.value)
    }

    static func status<Value>(of outcome: ReferencedOutcome<Value>) -> HTTPResponse.Status {
        if case .created = outcome { .created } else { .ok }
    }

    init(status: HTTPResponse.Status, headers: [String: String], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A stored answer; a sealed one is opened with `vault`, bound to its tenant and key.
    init(_ stored: StoredResponse, vault: CardVault, tenant: TenantID, key: String) throws {
        let body = stored.sealed
            ? Array(try vault.open(secret: stored.body, tenant: tenant, purpose: Self.sealPurpose(key)).utf8) : stored.body
        self.init(status: HTTPResponse.Status(code: stored.status), headers: stored.headers, body: body)
        carriesSecret = stored.sealed
    }

    var stored: StoredResponse { StoredResponse(status: status.code, headers: headers, body: body) }

    /// How an idempotency record keeps this answer: sealed when it shows a secret, so the secret is
    /// never in the database in plain text.
    func stored(vault: CardVault, tenant: TenantID, key: String) throws -> StoredResponse {
        guard carriesSecret else { return stored }
        let sealed = try vault.seal(secret: String(decoding: body, as: UTF8.self), tenant: tenant, purpose: Self.sealPurpose(key))
        return StoredResponse(status: status.code, headers: headers, body: sealed, sealed: true)
    }

    private static func sealPurpose(_ key: String) -> String { "idempotency|\(key)" }

    func response(replayed: Bool = false) -> Response {
        var fields = HTTPFields()
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) {
            if let name = HTTPField.Name(name) { fields[name] = value }
        }
        if replayed { fields[.idempotentReplayed] = "true" }
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
}

extension Request {
    /// `limit` (1...100, default 20) and `starting_after` from the query string.
    func pageRequest() throws -> PageRequest {
        let query = uri.queryParameters
        var limit = 20
        if let raw = query.get("limit") {
            guard let value = Int(raw), (1...PageRequest.limit_max).contains(value) else {
                throw DomainError.parameterInvalid("limit", "must be an integer from 1 to \(PageRequest.limit_max)")
            }
            limit = value
        }
        let cursor = query.get("starting_after")
        if let cursor, cursor.isEmpty || cursor.count > 64 {
            throw DomainError.parameterInvalid("starting_after", "must be an object id")
        }
        return PageRequest(limit: limit, startingAfter: cursor)
    }

    /// An optional query parameter naming an object by id (`?card=card_…`); one that cannot be
    /// ours names no object.
    func queryID<Kind>(_ name: String, _ what: String, as _: ID<Kind>.Type = ID<Kind>.self) throws -> ID<Kind>? {
        try uri.queryParameters.get(name).map { raw in try ID<Kind>(raw).orMissing(what, raw, param: name) }
    }

    /// An optional query parameter that must be one of an enum's values (`?status=open`).
    func query<E: RawRepresentable & CaseIterable>(_ name: String, as _: E.Type) throws -> E? where E.RawValue == String {
        try uri.queryParameters.get(name).map { raw in
            guard let value = E(rawValue: raw) else {
                throw DomainError.parameterInvalid(name, "must be one of \(E.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return value
        }
    }
}

extension AppRequestContext {
    /// The path's object id in its typed form: one that cannot be ours names no object (404, as
    /// one that is not found), so use cases only ever see well-formed ids.
    func pathID<Kind>(_ what: String, as _: ID<Kind>.Type = ID<Kind>.self) throws -> ID<Kind> {
        let raw = try parameters.require("id")
        return try ID<Kind>(raw).orMissing(what, raw, param: "id")
    }
}

/// A body with nothing in it (DELETE, state transitions without parameters).
struct Empty: Decodable, Sendable {}

/// What a deleted object answers, as Stripe does: nothing of it is left but its id.
struct Deleted: Encodable, Sendable {
    let id: String
    let object: String
    let deleted = true
}

extension Optional {
    /// Unwraps a parsed id; an id that cannot be ours is simply a missing object.
    func orMissing(_ what: String, _ id: some CustomStringConvertible, param: String? = nil) throws -> Wrapped {
        guard let self else { throw DomainError.resourceMissing(what, id: id.description, param: param) }
        return self
    }
}

/// An object plus a signing secret under `key`, in the one answer that shows the secret (creation,
/// rotation); stored sealed, it is never shown again.
/// An answer that may show a secret (a new API key, a signing secret): sent with `Cache-Control: no-store`.
protocol CarriesSecret {
    var carriesSecret: Bool { get }
}

struct WithSecret<Value: Encodable>: Encodable, CarriesSecret {
    var carriesSecret: Bool { secret != nil }

    let value: Value
    let secret: String?
    let key: String

    init(_ value: Value, secret: String?, as key: String) {
        self.value = value
        self.secret = secret
        self.key = key
    }

    struct Key: CodingKey {
        let stringValue: String
        init(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }

    func encode(to encoder: any Encoder) throws {
        try value.encode(to: encoder)
        var container = encoder.container(keyedBy: Key.self)
        try container.encodeIfPresent(secret, forKey: Key(stringValue: key))
    }
}
