import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix
import Synchronization
import ZentraCore

#if canImport(Glibc)
import Glibc
#endif

/// The one way Zentra calls a customer's URL: a client that never follows redirects (a redirect
/// could point anywhere), the destination's resolved addresses checked against the URL policy
/// right before the call, the connection made to the address that was checked, and Standard
/// Webhooks signing.
public enum OutboundHTTP {
    /// Resolves a host name to its addresses, as text (blocking: it runs on the thread pool).
    public typealias Resolver = @Sendable (String) throws -> [String]

    /// Calls `request.url` at an address its host resolves to now, after checking every such
    /// address against the policy. The HTTP client never resolves the name itself (a rebinding
    /// resolver could answer it differently a moment later): the connection goes to the checked
    /// address, with the URL's host kept in `Host` and in TLS (SNI and certificate checks), and a
    /// pooled connection is only reused for that same host and address.
    public static func execute(_ request: HTTPClientRequest, policy: OutboundURLPolicy, deadline: NIODeadline,
                               resolve: @escaping Resolver = systemResolve) async throws -> HTTPClientResponse {
        guard let components = URLComponents(string: request.url), let written = components.host?.lowercased(), !written.isEmpty else {
            throw CallFailure.invalidURL
        }
        let host = written.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        let literal = IPAddress(host) != nil
        let addresses = literal ? [host] : try await lookups.addresses(of: host, resolve: resolve, deadline: deadline)
        guard let address = addresses.first else { throw CallFailure.dnsFailed }
        guard addresses.allSatisfy({ policy.permits(address: $0) }) else { throw CallFailure.destinationRefused }
        let client = literal ? Self.client : clients.client(host: host, address: address)
        return try await client.execute(request, deadline: deadline)
    }

    static func configuration(dnsOverride: [String: String] = [:]) -> HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        configuration.dnsOverride = dnsOverride
        return configuration
    }

    static let lookups = Lookups()

    /// Name lookups, bounded by the call's deadline. The system resolver blocks a thread-pool
    /// thread, and an unreachable DNS server holds it for many seconds: calls to one host share the
    /// lookup in progress, so a hanging resolver ties up one thread per host rather than one per
    /// call, and a caller stops waiting at its deadline (`deadlineExceeded`, reported as a timeout)
    /// while the lookup finishes on its own. Nothing is cached: each call after the lookup ends
    /// resolves again, as a rebinding check requires.
    final class Lookups: Sendable {
        private let inProgress = Mutex<[String: EventLoopFuture<[String]>]>([:])

        func addresses(of host: String, resolve: @escaping Resolver, deadline: NIODeadline) async throws -> [String] {
            let eventLoop = HTTPClient.defaultEventLoopGroup.any()
            let (lookup, started) = inProgress.withLock { inProgress -> (EventLoopFuture<[String]>, Bool) in
                if let lookup = inProgress[host] { return (lookup, false) }
                let lookup = NIOThreadPool.singleton.runIfActive(eventLoop: eventLoop) { try resolve(host) }
                inProgress[host] = lookup
                return (lookup, true)
            }
            if started {
                lookup.whenComplete { _ in self.inProgress.withLock { if $0[host] === lookup { $0[host] = nil } } }
            }
            let answer = eventLoop.makePromise(of: [String].self)
            let timeout = eventLoop.scheduleTask(deadline: deadline) { answer.fail(HTTPClientError.deadlineExceeded) }
            lookup.whenComplete { result in
                timeout.cancel()
                answer.completeWith(result.mapError { _ in CallFailure.dnsFailed })
            }
            return try await answer.futureResult.get()
        }
    }

    /// For URLs whose host is an address: nothing to resolve. Process-wide, like `HTTPClient.shared`,
    /// with room for as many connections to one host as delivery keeps in flight.
    static let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration())

    /// For named hosts: one client per host and checked address, whose only name mapping is that
    /// one, so its pool cannot hand out a connection made to any other address.
    static let clients = PinnedClients()

    final class PinnedClients: Sendable {
        /// Held at most; the oldest is shut down (after a grace longer than any call's deadline)
        /// when a new one would pass it.
        static let capacity = 512
        static let grace: Duration = .seconds(300)
        private let state = Mutex<(clients: [String: HTTPClient], order: [String])>(([:], []))

        func client(host: String, address: String) -> HTTPClient {
            let key = host + " " + address
            let (client, evicted) = state.withLock { state -> (HTTPClient, HTTPClient?) in
                if let client = state.clients[key] { return (client, nil) }
                let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration(dnsOverride: [host: address]))
                state.clients[key] = client
                state.order.append(key)
                guard state.order.count > Self.capacity else { return (client, nil) }
                return (client, state.clients.removeValue(forKey: state.order.removeFirst()))
            }
            if let evicted {
                Task {
                    try? await Task.sleep(for: Self.grace)
                    try? await evicted.shutdown()
                }
            }
            return client
        }
    }

    /// Every address `host` resolves to, as text, by the system resolver.
    public static let systemResolve: Resolver = { host in
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0 else { throw ResolveError() }
        defer { freeaddrinfo(list) }
        var addresses: [String] = []
        var next = list
        while let entry = next {
            var text = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if getnameinfo(entry.pointee.ai_addr, entry.pointee.ai_addrlen, &text, socklen_t(text.count), nil, 0, NI_NUMERICHOST) == 0 {
                let address = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                // A scoped IPv6 address (`fe80::1%eth0`) is judged without its zone.
                addresses.append(String(address.prefix { $0 != "%" }))
            }
            next = entry.pointee.ai_next
        }
        return addresses
    }

    struct ResolveError: Error {}

    /// A POST carrying Standard Webhooks headers: `webhook-id`, `webhook-timestamp`, and one `v1,`
    /// signature per secret (several during a secret's rotation grace period, space-separated).
    /// Nil when a secret is not a `whsec_` secret.
    public static func signedPost(url: String, messageID: String, timestampSeconds: Int64, secrets: [String], body: [UInt8],
                                  userAgent: String) -> HTTPClientRequest? {
        var signatures: [String] = []
        for secret in secrets {
            guard let signature = WebhookSignature.sign(secret: secret, messageID: messageID, timestampSeconds: timestampSeconds, body: body)
            else { return nil }
            signatures.append(signature)
        }
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: userAgent)
        request.headers.add(name: "webhook-id", value: messageID)
        request.headers.add(name: "webhook-timestamp", value: String(timestampSeconds))
        request.headers.add(name: "webhook-signature", value: signatures.joined(separator: " "))
        request.body = .bytes(ByteBuffer(bytes: body))
        return request
    }

    /// Milliseconds since `start`.
    static func milliseconds(since start: ContinuousClock.Instant) -> Int {
        let duration = ContinuousClock.now - start
        return Int(duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)
    }
}

extension CallFailure {
    /// What a call's error means: a refusal before calling, or the call's `deadline` passing
    /// (however the client reports it), or else a connection that failed.
    init(_ error: any Error, deadline: NIODeadline) {
        switch error {
        case let failure as CallFailure: self = failure
        case let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout: self = .timeout
        default: self = NIODeadline.now() >= deadline ? .timeout : .connectionFailed
        }
    }
}
