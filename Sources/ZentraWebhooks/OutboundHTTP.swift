import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix
import ZentraCore

#if canImport(Glibc)
import Glibc
#endif

/// The one way Zentra calls a customer's URL: a client that never follows redirects (a redirect
/// could point anywhere), the destination's resolved addresses checked against the URL policy
/// right before the call, and Standard Webhooks signing.
public enum OutboundHTTP {
    /// Process-wide, like `HTTPClient.shared`, but refusing redirects, and with room for as many
    /// connections to one host as delivery keeps in flight (endpoints often share a host).
    public static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    /// Why the URL may not be called now (`invalid_url`, `dns_failed`, `destination_refused`), or
    /// nil when every address its host resolves to is allowed. The client resolves the name once
    /// more when it connects; a name whose answer changes within that moment is not caught here.
    public static func refusal(for url: String, policy: OutboundURLPolicy) async -> String? {
        guard let components = URLComponents(string: url), let host = components.host?.lowercased(), !host.isEmpty else {
            return "invalid_url"
        }
        let addresses: [String]
        do {
            addresses = try await NIOThreadPool.singleton.runIfActive { try resolve(host) }
        } catch {
            return "dns_failed"
        }
        guard !addresses.isEmpty else { return "dns_failed" }
        return addresses.allSatisfy { policy.permits(address: $0) } ? nil : "destination_refused"
    }

    /// Every address `host` resolves to, as text (blocking: runs on the thread pool).
    static func resolve(_ host: String) throws -> [String] {
        let bare = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(bare, nil, &hints, &list) == 0 else { throw ResolveError() }
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
    public static func signedPost(url: String, messageID: String, timestamp_seconds: Int64, secrets: [String], body: [UInt8],
                                  userAgent: String) -> HTTPClientRequest? {
        var signatures: [String] = []
        for secret in secrets {
            guard let signature = WebhookSignature.sign(secret: secret, messageID: messageID, timestamp_seconds: timestamp_seconds, body: body)
            else { return nil }
            signatures.append(signature)
        }
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: userAgent)
        request.headers.add(name: "webhook-id", value: messageID)
        request.headers.add(name: "webhook-timestamp", value: String(timestamp_seconds))
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
