import NIOCore
import NIOPosix
import NIOSSL
import Synchronization
import ZentraCore

/// One POST (its bytes, `HTTP1Wire.request`) and how to read its answer: the body's first `keep`
/// bytes are kept, and reading stops after `read`; all of it within `deadline`.
struct OutboundExchange: Sendable {
    let request: [UInt8]
    let keep: Int
    let read: Int
    let deadline: NIODeadline
}

/// Keep-alive HTTP/1.1 connections to checked addresses. A connection carries one exchange at a
/// time; after an answer that allows it, it waits idle for the next call to the same target.
/// Nothing here resolves a name: a connection goes to the address it is given.
final class OutboundConnections: Sendable {
    /// Where a connection goes: the address, and the name (nil for an address URL) that TLS
    /// checks the certificate against.
    struct Target: Hashable, Sendable {
        let tls: Bool
        let host: String?
        let address: String
        let port: Int
    }

    /// Idle connections kept per target: delivery keeps up to `ZENTRA_WEBHOOK_CONCURRENCY` (at
    /// most 256) in flight to one endpoint.
    static let idle_max = 256
    /// An idle connection older than this is closed rather than reused: most servers close theirs
    /// after a few seconds to a minute, and a request on a connection they are closing fails.
    static let idleSeconds: Int64 = 4

    private let idle = Mutex<[Target: [(channel: any NIOCore.Channel, since: NIODeadline)]]>([:])
    private let tls: Result<NIOSSLContext, any Error>

    /// By default certificates are checked against the system's roots, and the name against the
    /// URL's host.
    init(tls configuration: TLSConfiguration = .makeClientConfiguration()) {
        tls = Result { try NIOSSLContext(configuration: configuration) }
    }

    /// Makes the exchange on an idle connection to the target, one on `loop` first, or on a new
    /// connection made on `loop`.
    func exchange(_ exchange: OutboundExchange, to target: Target, on loop: any EventLoop) async throws -> OutboundAnswer {
        var reuse = true
        while true {
            let (channel, reused) = try await connection(to: target, on: loop, reuse: reuse, deadline: exchange.deadline)
            let answer = channel.eventLoop.makePromise(of: (OutboundAnswer, keepAlive: Bool).self)
            let written = channel.eventLoop.makePromise(of: Void.self)
            // A connection closed before the exchange reached its handler (a TLS handshake that
            // failed, say) fails the write, not the handler: the answer fails with it.
            written.futureResult.whenFailure { answer.fail(ExchangeHandler.ClosedBeforeAnswer(error: $0)) }
            channel.writeAndFlush(PendingExchange(exchange: exchange, answer: answer), promise: written)
            do {
                let (result, keepAlive) = try await answer.futureResult.get()
                if keepAlive { checkIn(channel, to: target) }
                return result
            } catch let closed as ExchangeHandler.ClosedBeforeAnswer {
                // A kept-alive connection its server closed as the request went out (servers
                // close idle ones): sent once more, on a new connection. A receiver that did take
                // it sees the same message twice, as after any retry.
                guard reused else { throw closed.error }
                reuse = false
            }
        }
    }

    /// An idle connection to the target that is still open (with `reuse`), or a new one; and
    /// which of the two it is.
    private func connection(to target: Target, on loop: any EventLoop, reuse: Bool, deadline: NIODeadline) async throws -> (any NIOCore.Channel, reused: Bool) {
        let stale = NIODeadline.now() - .seconds(Self.idleSeconds)
        while reuse, let (channel, since) = idle.withLock({ idle -> (any NIOCore.Channel, NIODeadline)? in
            guard let last = idle[target]?.lastIndex(where: { $0.channel.eventLoop === loop }) ?? idle[target]?.indices.last else { return nil }
            return idle[target]?.remove(at: last)
        }) {
            if channel.isActive && since > stale { return (channel, true) }
            channel.close(promise: nil)
        }
        guard let address = try? SocketAddress(ipAddress: target.address, port: target.port) else { throw CallFailure.invalidURL }
        let context = try tls.get()
        let timeout = deadline - NIODeadline.now()
        guard timeout > .zero else { throw CallFailure.timeout }
        let channel = try await ClientBootstrap(group: loop)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if target.tls { try pipeline.addHandler(NIOSSLClientHandler(context: context, serverHostname: target.host)) }
                    try pipeline.addHandler(ExchangeHandler())
                }
            }
            .connect(to: address).get()
        // Closed by either side while idle: no longer kept.
        channel.closeFuture.whenComplete { [weak self] _ in
            self?.idle.withLock { idle in
                idle[target]?.removeAll { $0.channel === channel }
                if idle[target]?.isEmpty == true { idle[target] = nil }
            }
        }
        return (channel, false)
    }

    private func checkIn(_ channel: any NIOCore.Channel, to target: Target) {
        let extra = idle.withLock { idle -> (any NIOCore.Channel)? in
            guard idle[target, default: []].count < Self.idle_max else { return channel }
            idle[target, default: []].append((channel, NIODeadline.now()))
            return nil
        }
        extra?.close(promise: nil)
    }
}

/// An exchange handed to a connection, with the promise of its answer (and whether the
/// connection may carry another).
struct PendingExchange: Sendable {
    let exchange: OutboundExchange
    let answer: EventLoopPromise<(OutboundAnswer, keepAlive: Bool)>
}

/// Writes one request and reads its answer: the head, the body's first bytes, up to a limit.
/// The deadline, a failure or the peer closing ends the exchange and the connection.
final class ExchangeHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = PendingExchange
    typealias OutboundOut = ByteBuffer

    private var current: (pending: PendingExchange, timeout: Scheduled<Void>)?
    private var reader = HTTP1Wire.ResponseReader()
    /// Bytes read and not yet taken by the reader.
    private var unread: ByteBuffer?
    private var head: (status: Int, retryAfter: String?)?
    private var body: [UInt8] = []
    private var received = 0

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let pending = unwrapOutboundIn(data)
        guard current == nil else {
            promise?.fail(CallFailure.connectionFailed)
            pending.answer.fail(CallFailure.connectionFailed)
            return
        }
        (reader, unread, head, body, received) = (HTTP1Wire.ResponseReader(), nil, nil, [], 0)
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let timeout = context.eventLoop.scheduleTask(deadline: pending.exchange.deadline) {
            let (handler, context) = loopBound.value
            handler.finish(.failure(CallFailure.timeout), keepAlive: false, context: context)
        }
        current = (pending, timeout)
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: pending.exchange.request)), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard current != nil else { return }
        var bytes = unwrapInboundIn(data)
        if var earlier = unread {
            earlier.writeBuffer(&bytes)
            bytes = earlier
        }
        do {
            while let part = try reader.next(&bytes) {
                guard let (pending, _) = current else { return }
                switch part {
                case .head(let status, let retryAfter):
                    head = (status, retryAfter)
                case .body(let part):
                    if body.count < pending.exchange.keep { body.append(contentsOf: part.readableBytesView.prefix(pending.exchange.keep - body.count)) }
                    received += part.readableBytes
                    // The rest is never read: the connection cannot carry another exchange.
                    if received > pending.exchange.read { return finish(answer(), keepAlive: false, context: context) }
                case .end(let keepAlive):
                    // Bytes past the answer were never asked for: the connection is not reused.
                    return finish(answer(), keepAlive: keepAlive && bytes.readableBytes == 0, context: context)
                }
            }
            unread = bytes.readableBytes > 0 ? bytes : nil
        } catch {
            finish(.failure(head == nil ? ClosedBeforeAnswer(error: error) : error), keepAlive: false, context: context)
        }
    }

    /// The connection failed or closed before any answer came.
    struct ClosedBeforeAnswer: Error {
        let error: any Error
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish(.failure(head == nil ? ClosedBeforeAnswer(error: error) : error), keepAlive: false, context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if case .end = reader.closed() {
            finish(answer(), keepAlive: false, context: context)
        } else {
            finish(.failure(head == nil ? ClosedBeforeAnswer(error: CallFailure.connectionFailed) : CallFailure.connectionFailed), keepAlive: false,
                   context: context)
        }
        context.fireChannelInactive()
    }

    private func answer() -> Result<OutboundAnswer, any Error> {
        guard let head else { return .failure(CallFailure.connectionFailed) }
        return .success(OutboundAnswer(status: head.status, retryAfter: head.retryAfter, body: body, longer: received > body.count))
    }

    /// Ends the exchange in progress, once; a connection that cannot carry another is closed.
    private func finish(_ result: Result<OutboundAnswer, any Error>, keepAlive: Bool, context: ChannelHandlerContext) {
        guard let (pending, timeout) = current else { return }
        current = nil
        unread = nil
        timeout.cancel()
        if !keepAlive { context.close(promise: nil) }
        pending.answer.completeWith(result.map { ($0, keepAlive) })
    }
}
