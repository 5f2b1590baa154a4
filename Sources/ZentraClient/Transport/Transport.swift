import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// One answer read in full.
struct RawResponse: Sendable {
    let status: Int
    let headers: HTTPHeaders
    let body: [UInt8]
}

/// Sends requests: authentication, idempotency keys, timeouts, retries, and errors as `ZentraError`.
struct Transport: Sendable {
    let apiKey: String
    let baseURL: String
    let configuration: Zentra.Configuration

    init(apiKey: String, baseURL: URL, configuration: Zentra.Configuration) {
        self.apiKey = apiKey
        var base = baseURL.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.configuration = configuration
    }

    /// How a POST is made safe to retry.
    enum Idempotency: Sendable {
        /// `Idempotency-Key`: the caller's, or one made for this call and kept across its retries.
        case key(String?)
        /// The body names its own key (`intent_id`, `network_reference`, `clearing_id`).
        case natural
    }

    func get<Output: Decodable>(_ path: String, query: [String: String?] = [:], as _: Output.Type = Output.self) async throws -> Output {
        try decode(try await send(.GET, path, query: query))
    }

    func post<Output: Decodable>(_ path: String, _ body: JSONValue = .object([:]), idempotency: Idempotency,
                                 as _: Output.Type = Output.self) async throws -> Output {
        let bytes = Array(try JSONCoding.encoder.encode(body))
        return try decode(try await send(.POST, path, body: bytes, contentType: "application/json", idempotency: idempotency))
    }

    func delete<Output: Decodable>(_ path: String, as _: Output.Type = Output.self) async throws -> Output {
        try decode(try await send(.DELETE, path))
    }

    /// One page of a list endpoint.
    func page<Element: Decodable & Sendable>(_ path: String, query: [String: String?], limit: Int, startingAfter: String?) async throws -> Page<Element> {
        var query = query
        query["limit"] = String(limit)
        query["starting_after"] = startingAfter
        return try await get(path, query: query)
    }

    func decode<Output: Decodable>(_ response: RawResponse) throws -> Output {
        try JSONCoding.decoder.decode(Output.self, from: Data(response.body))
    }

    /// Sends until an answer is final: a 2xx is returned, an error that a retry would not change is
    /// thrown, and network failures, 409 `idempotency_request_in_progress`, 429 and 503 are tried
    /// again after the retry policy's delay, with the same idempotency key.
    func send(_ method: HTTPMethod, _ path: String, query: [String: String?] = [:], body: [UInt8]? = nil,
              contentType: String? = nil, idempotency: Idempotency = .natural) async throws -> RawResponse {
        var request = HTTPClientRequest(url: baseURL + path + Self.queryString(query))
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(apiKey)")
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "zentra-swift/\(Zentra.version)")
        if let contentType { request.headers.add(name: "Content-Type", value: contentType) }
        if case .key(let given) = idempotency {
            request.headers.add(name: "Idempotency-Key", value: given ?? "sdk_" + UUID().uuidString.lowercased())
        }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }

        var attempt = 0
        while true {
            let wait: Duration
            do {
                let response = try await once(request)
                if (200..<300).contains(response.status) { return response }
                let error = ZentraError(
                    status: response.status, body: response.body, requestID: response.headers.first(name: "Request-Id"),
                    retryAfterSeconds: response.headers.first(name: "Retry-After").flatMap { Int($0) })
                guard RetryPolicy.isRetryable(error),
                      let delay = configuration.retry.delay(afterAttempt: attempt, retryAfterSeconds: error.retryAfterSeconds,
                                                            jitter: .random(in: 0...1))
                else { throw error }
                wait = delay
            } catch let error where error is ZentraError || error is CancellationError {
                throw error
            } catch {
                // No answer (refused, reset, timed out): the request may or may not have run, and
                // its key makes trying again safe either way.
                guard let delay = configuration.retry.delay(afterAttempt: attempt, retryAfterSeconds: nil, jitter: .random(in: 0...1))
                else { throw error }
                wait = delay
            }
            try await Task.sleep(for: wait)
            attempt += 1
        }
    }

    private func once(_ request: HTTPClientRequest) async throws -> RawResponse {
        let response = try await configuration.httpClient.execute(request, timeout: TimeAmount(configuration.timeout))
        let body = try await response.body.collect(upTo: configuration.maxResponseBytes)
        return RawResponse(status: Int(response.status.code), headers: response.headers, body: Array(body.readableBytesView))
    }

    static func queryString(_ query: [String: String?]) -> String {
        let pairs = query.compactMapValues { $0 }.sorted { $0.key < $1.key }
        guard !pairs.isEmpty else { return "" }
        return "?" + pairs.map { "\(escape($0.key))=\(escape($0.value))" }.joined(separator: "&")
    }

    /// A path segment or query value, percent-encoded (ids are opaque: never trust their spelling).
    static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }

    private static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
}

extension Zentra {
    /// This SDK's version, sent as `User-Agent: zentra-swift/<version>`.
    public static let version = "0.1.0"
}
