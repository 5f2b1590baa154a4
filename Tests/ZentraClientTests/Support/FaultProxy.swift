import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// An HTTP proxy in front of the live server that can misbehave on cue: forward a request and
/// drop the connection instead of the answer (the server acted, the client never heard), or
/// answer for the server. It records every request it saw.
final class FaultProxy: Sendable {
    enum Fault: Sendable {
        /// Forward the request, wait for the server's answer, then close the connection unanswered.
        case dropAnswer
        /// Answer this status, these headers and this body without asking the server.
        case answer(status: Int, headers: [String: String], body: String)
    }

    struct Seen: Sendable {
        let method: String
        let uri: String
        let headers: [String: String]
    }

    private let upstream: String
    private let faults = Mutex<[Fault]>([])
    private let seen = Mutex<[Seen]>([])
    private let channel: NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>

    var baseURL: URL { URL(string: "http://127.0.0.1:\(channel.channel.localAddress!.port!)")! }
    var requests: [Seen] { seen.withLock { $0 } }

    /// The next requests meet these faults, one each, in order; later ones pass through.
    func inject(_ next: Fault...) { faults.withLock { $0.append(contentsOf: next) } }

    private init(upstream: URL, channel: NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>) {
        self.upstream = upstream.absoluteString
        self.channel = channel
    }

    /// Runs `body` with a proxy to `upstream`, listening on a free port.
    static func run(upstream: URL, _ body: (FaultProxy) async throws -> Void) async throws {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: 0) { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.configureHTTPServerPipeline()
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(wrappingChannelSynchronously: child)
                }
            }
        let proxy = FaultProxy(upstream: upstream, channel: channel)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await channel.executeThenClose { connections in
                    try await withThrowingDiscardingTaskGroup { connectionsGroup in
                        for try await connection in connections {
                            connectionsGroup.addTask { try? await proxy.serve(connection) }
                        }
                    }
                }
            }
            defer { group.cancelAll() }
            // Cancelling ends the keep-alive connections the client still holds open.
            try await body(proxy)
        }
    }

    private func serve(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>) async throws {
        try await connection.executeThenClose { inbound, outbound in
            var head: HTTPRequestHead?
            var body = ByteBuffer()
            for try await part in inbound {
                switch part {
                case .head(let received):
                    head = received
                    body.clear()
                case .body(var chunk):
                    body.writeBuffer(&chunk)
                case .end:
                    guard let head else { return }
                    seen.withLock {
                        $0.append(Seen(method: head.method.rawValue, uri: head.uri,
                                       headers: Dictionary(head.headers.map { ($0.name.lowercased(), $0.value) }, uniquingKeysWith: { $1 })))
                    }
                    let fault = faults.withLock { $0.isEmpty ? nil : $0.removeFirst() }
                    if case .answer(let status, let headers, let text) = fault {
                        try await respond(outbound, status: status, headers: HTTPHeaders(headers.map { ($0.key, $0.value) }), body: ByteBuffer(string: text))
                        continue
                    }
                    var request = HTTPClientRequest(url: upstream + head.uri)
                    request.method = head.method
                    request.headers = head.headers
                    request.headers.remove(name: "Host")
                    request.body = .bytes(body)
                    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
                    let answer = try await response.body.collect(upTo: 64 << 20)
                    if case .dropAnswer = fault { return }
                    var headers = response.headers
                    headers.remove(name: "Transfer-Encoding")
                    try await respond(outbound, status: Int(response.status.code), headers: headers, body: answer)
                }
            }
        }
    }

    private func respond(_ outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>, status: Int, headers: HTTPHeaders, body: ByteBuffer) async throws {
        var headers = headers
        headers.replaceOrAdd(name: "Content-Length", value: String(body.readableBytes))
        try await outbound.write(.head(HTTPResponseHead(version: .http1_1, status: .init(statusCode: status), headers: headers)))
        try await outbound.write(.body(.byteBuffer(body)))
        try await outbound.write(.end(nil))
    }
}
