import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization
import Testing
import ZentraCore
@testable import ZentraWebhooks

/// Calls over TLS: the certificate is checked against the roots and the URL's host, and a
/// connection is kept alive for the next call to the same target.
@Suite struct OutboundTLSTests {
    /// A self-signed certificate for `localhost` only (no address: NIOSSL also accepts a certificate
    /// naming the address connected to), P-256, valid until 2126, made with `openssl req -x509`.
    static let certificate = """
-----BEGIN CERTIFICATE-----
MIIBlTCCATugAwIBAgIUUDwiYtotcdn/nem6L3BKQMNJFKEwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTIwNzA1NTQxN1oYDzIxMjYxMTEz
MDU1NDE3WjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAAQVeNzaCd2HQHTeuaXwCCKZYqOsaxc2Af6hQXjs1cfNiUqxjhhRCHeF
vfNa6xC/6QwuNkv8bFyhuFKmPIXBDvCSo2kwZzAdBgNVHQ4EFgQUGLjWAmYwJpmQ
zsrTu9Z56My+7SkwHwYDVR0jBBgwFoAUGLjWAmYwJpmQzsrTu9Z56My+7SkwDwYD
VR0TAQH/BAUwAwEB/zAUBgNVHREEDTALgglsb2NhbGhvc3QwCgYIKoZIzj0EAwID
SAAwRQIgMOFH9f/3BEtqsYIXt+t9ZNRLNZRL9EAc+EBne+4s/50CIQClrPj6Gmg/
q5QDqWBWBJap1+CDNl/Kkh9eJslUAGQodQ==
-----END CERTIFICATE-----
"""
    static let key = """
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgxKTqmXab6ZMSpKwk
KvCGDC3DRFgoI/ytrCtfjIZim1ahRANCAAQVeNzaCd2HQHTeuaXwCCKZYqOsaxc2
Af6hQXjs1cfNiUqxjhhRCHeFvfNa6xC/6QwuNkv8bFyhuFKmPIXBDvCS
-----END PRIVATE KEY-----
"""

    /// An HTTPS server on 127.0.0.1 that answers requests 204 with a `Retry-After`, counting the
    /// connections it accepts. With `answersPerConnection`, it closes a connection, unanswered, at
    /// the request after that many, keeping it alive until then (as a server closing idle
    /// connections can).
    final class Server: Sendable {
        let connections = Mutex(0)
        let answersPerConnection: Int?

        init(answersPerConnection: Int? = nil) { self.answersPerConnection = answersPerConnection }

        func run(_ body: (Int) async throws -> Void) async throws {
            let certificate = try NIOSSLCertificate(bytes: Array(OutboundTLSTests.certificate.utf8), format: .pem)
            let key = try NIOSSLPrivateKey(bytes: Array(OutboundTLSTests.key.utf8), format: .pem)
            let context = try NIOSSLContext(configuration: .makeServerConfiguration(certificateChain: [.certificate(certificate)],
                                                                                     privateKey: .privateKey(key)))
            let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .childChannelInitializer { [self] channel in
                    self.connections.withLock { $0 += 1 }
                    return channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                        try channel.pipeline.syncOperations.addHandler(NoContent(answers: self.answersPerConnection))
                    }
                }
                .bind(host: "127.0.0.1", port: 0).get()
            do {
                try await body(channel.localAddress?.port ?? 0)
            } catch {
                try? await channel.close()
                throw error
            }
            try await channel.close()
        }
    }

    final class NoContent: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        var answers: Int?

        init(answers: Int?) { self.answers = answers }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard case .end = unwrapInboundIn(data) else { return }
            if let left = answers {
                guard left > 0 else { return context.close(promise: nil) }
                answers = left - 1
            }
            let head = HTTPResponseHead(version: .http1_1, status: .noContent, headers: ["Retry-After": "7"])
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }

    /// One call; the deadline only bounds a stuck test (the whole suite loads this machine).
    static func exchange(_ connections: OutboundConnections, host: String?, port: Int) async throws -> OutboundAnswer {
        let request = HTTP1Wire.request(prefix: HTTP1Wire.requestPrefix(target: "/hook", host: "\(host ?? "127.0.0.1"):\(port)"), headers: [],
                                        body: Array("{}".utf8))!
        return try await connections.exchange(OutboundExchange(request: request, keep: 1024, read: 1024, deadline: .now() + .seconds(60)),
                                              to: OutboundConnections.Target(tls: true, host: host, address: "127.0.0.1", port: port),
                                              on: MultiThreadedEventLoopGroup.singleton.next())
    }

    static func trusting() throws -> OutboundConnections {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.trustRoots = .certificates([try NIOSSLCertificate(bytes: Array(certificate.utf8), format: .pem)])
        return OutboundConnections(tls: configuration)
    }

    @Test func aTrustedCertificateForTheHostIsAnsweredOverOneKeptConnection() async throws {
        let server = Server()
        try await server.run { port in
            let connections = try Self.trusting()
            for _ in 0..<3 {
                let answer = try await Self.exchange(connections, host: "localhost", port: port)
                #expect(answer.status == 204 && answer.retryAfter == "7" && answer.body.isEmpty)
            }
            #expect(server.connections.withLock { $0 } == 1, "the connection is kept alive between calls")
        }
    }

    @Test func aCertificateNotTrustedOrNotForTheHostIsRefused() async throws {
        let server = Server()
        try await server.run { port in
            // The system's roots do not include the test's certificate.
            await #expect(throws: (any Error).self) { _ = try await Self.exchange(OutboundConnections(), host: "localhost", port: port) }
            // Trusted, but issued for another name than the URL's host.
            await #expect(throws: (any Error).self) { _ = try await Self.exchange(try Self.trusting(), host: "other.zentra.test", port: port) }
        }
    }

    /// A kept-alive connection the server closes instead of answering: the call goes again, once,
    /// on a new connection.
    @Test func aKeptConnectionClosedUnansweredIsTriedOnceMoreOnANewOne() async throws {
        let server = Server(answersPerConnection: 1)
        try await server.run { port in
            let connections = try Self.trusting()
            for _ in 0..<3 {
                #expect(try await Self.exchange(connections, host: "localhost", port: port).status == 204)
            }
            #expect(server.connections.withLock { $0 } == 3, "each call after the first met a closed connection, then made a new one")
        }
    }
}
