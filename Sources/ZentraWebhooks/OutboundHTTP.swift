import Foundation
import NIOCore
import NIOPosix
import Synchronization
import ZentraCore
import ZentraStorage

#if canImport(Glibc)
import Glibc
#endif

/// The one way Zentra calls a customer's URL: a POST that never follows redirects (a redirect
/// could point anywhere), the destination's resolved addresses checked against the URL policy
/// right before the call, the connection made to the address that was checked, and Standard
/// Webhooks signing. Calls go over Zentra's own keep-alive HTTP/1.1 connections
/// (`OutboundConnections`): a general-purpose client cost several times as much CPU per call,
/// and webhook delivery is bound by it (PERFORMANCE.md).
public enum OutboundHTTP {
    /// Resolves a host name to its addresses, as text (blocking: it runs on the thread pool).
    public typealias Resolver = @Sendable (String) throws -> [String]

    /// Calls `request.url` at an address its host resolves to now, after checking every such
    /// address against the policy. The name is resolved here, never again by the connection (a
    /// rebinding resolver could answer differently a moment later): the connection goes to the
    /// checked address, with the URL's host kept in `Host` and in TLS (SNI and certificate
    /// checks), and a kept-alive connection is only reused for that same host and address. The
    /// answer keeps the body's first `keep` bytes and stops reading after `read`.
    public static func execute(_ request: OutboundRequest, policy: OutboundURLPolicy, deadline: NIODeadline, keep: Int, read: Int,
                               resolve: @escaping Resolver = systemResolve) async throws -> OutboundAnswer {
        let destination = try destination(of: request.url)
        let address: String
        if let literal = destination.literal {
            // Parsed once with the URL: only the policy's networks are checked per call.
            guard policy.permits(literal) else { throw CallFailure.destinationRefused }
            address = destination.host
        } else {
            let addresses = try await lookups.addresses(of: destination.host, resolve: resolve, deadline: deadline)
            guard let first = addresses.first else { throw CallFailure.dnsFailed }
            guard addresses.allSatisfy({ policy.permits(address: $0) }) else { throw CallFailure.destinationRefused }
            address = first
        }
        guard let bytes = HTTP1Wire.request(prefix: destination.prefix, headers: request.headers, body: request.body) else {
            throw CallFailure.invalidURL
        }
        let target = OutboundConnections.Target(tls: destination.tls, host: destination.literal == nil ? destination.host : nil, address: address,
                                                port: destination.port)
        return try await connections.exchange(OutboundExchange(request: bytes, keep: keep, read: read, deadline: deadline), to: target,
                                              on: destination.executor.eventLoop)
    }

    /// The executor that calls to `url` are best made from: the event loop its connections are
    /// made on, so that a call's write and its answer need no other thread. Nil for a URL that
    /// cannot be called.
    public static func executor(for url: String) -> (any TaskExecutor)? {
        try? destination(of: url).executor
    }

    /// Where a URL calls, read from it once: an endpoint's URL is parsed for its first call, not
    /// for every delivery. What its name resolves to is never kept.
    struct Destination: Sendable {
        let tls: Bool
        /// The host, lowercased, without an IPv6 literal's brackets.
        let host: String
        /// The host's address when it is one, not a name.
        let literal: IPAddress?
        let port: Int
        /// The request line and `Host`.
        let prefix: [UInt8]
        /// The event loop its new connections are made on, and calls to it best made from: the
        /// outbound loops (`loops`), in turn, as destinations are first called.
        let executor: EventLoopExecutor
    }

    static let destinations = BoundedCache<String, Destination>(capacity: 4096)

    /// The event loops outbound calls are made on: threads of their own, apart from the loops that
    /// serve requests and hold the database's connections, so that neither queues behind the
    /// other. Measured: signing and sending alone twice as fast as on the shared loops, and less
    /// of the server's CPU per delivery (PERFORMANCE.md).
    static let loops = MultiThreadedEventLoopGroup(numberOfThreads: max(1, System.coreCount / 2))

    static func destination(of url: String) throws(CallFailure) -> Destination {
        if let known = destinations[url] { return known }
        guard let components = URLComponents(string: url), let written = components.host?.lowercased(), !written.isEmpty,
            let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https" else {
            throw CallFailure.invalidURL
        }
        let host = written.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        let tls = scheme == "https"
        let port = components.port ?? (tls ? 443 : 80)
        let target = (components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath) + (components.percentEncodedQuery.map { "?" + $0 } ?? "")
        let hostField = components.port == nil ? written : "\(written):\(port)"
        // Percent-encoded, these hold no space or control character; checked all the same, as
        // they go into the request's head as they are.
        guard (target + hostField).utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { throw CallFailure.invalidURL }
        let destination = Destination(tls: tls, host: host, literal: IPAddress(host), port: port,
                                      prefix: HTTP1Wire.requestPrefix(target: target, host: hostField),
                                      executor: EventLoopExecutor(loops.next()))
        destinations.keep(destination, for: url)
        return destination
    }

    static let connections = OutboundConnections()

    static let lookups = Lookups()

    /// Name lookups, bounded by the call's deadline. The system resolver blocks a thread-pool
    /// thread, and an unreachable DNS server holds it for many seconds: calls to one host share the
    /// lookup in progress, so a hanging resolver ties up one thread per host rather than one per
    /// call, and a caller stops waiting at its deadline (a timeout)
    /// while the lookup finishes on its own. Nothing is cached: each call after the lookup ends
    /// resolves again, as a rebinding check requires.
    final class Lookups: Sendable {
        private let inProgress = Mutex<[String: EventLoopFuture<[String]>]>([:])

        func addresses(of host: String, resolve: @escaping Resolver, deadline: NIODeadline) async throws -> [String] {
            let eventLoop = MultiThreadedEventLoopGroup.singleton.any()
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
            let timeout = eventLoop.scheduleTask(deadline: deadline) { answer.fail(CallFailure.timeout) }
            lookup.whenComplete { result in
                timeout.cancel()
                answer.completeWith(result.mapError { _ in CallFailure.dnsFailed })
            }
            return try await answer.futureResult.get()
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
                                  userAgent: String) -> OutboundRequest? {
        var signatures: [String] = []
        for secret in secrets {
            guard let signature = WebhookSignature.sign(secret: secret, messageID: messageID, timestampSeconds: timestampSeconds, body: body)
            else { return nil }
            signatures.append(signature)
        }
        return OutboundRequest(url: url, headers: [
            ("Content-Type", "application/json"), ("User-Agent", userAgent), ("webhook-id", messageID),
            ("webhook-timestamp", String(timestampSeconds)), ("webhook-signature", signatures.joined(separator: " ")),
        ], body: body)
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
        default: self = NIODeadline.now() >= deadline ? .timeout : .connectionFailed
        }
    }
}

/// A call to make: the URL, the header fields beside `Host` and `Content-Length`, and the body.
public struct OutboundRequest: Sendable {
    public let url: String
    public let headers: [(String, String)]
    public let body: [UInt8]

    public init(url: String, headers: [(String, String)], body: [UInt8]) {
        self.url = url
        self.headers = headers
        self.body = body
    }
}

/// What an outbound call answered: its status, its `Retry-After`, and the start of its body;
/// `longer` when the body went on past what was read.
public struct OutboundAnswer: Sendable {
    public let status: Int
    public let retryAfter: String?
    public let body: [UInt8]
    public let longer: Bool
}
