import NIOCore
import NIOHTTPTypes

/// How long a connection may take over a request head, and sit idle between requests.
public struct ConnectionTimeouts: Sendable, Hashable {
    /// From a request's first byte to its complete head (`ZENTRA_HTTP_HEADER_TIMEOUT_MS`).
    public var header: Duration = .seconds(10)
    /// With no request in progress (`ZENTRA_HTTP_IDLE_TIMEOUT_MS`).
    public var idle: Duration = .seconds(60)

    public init(header: Duration = .seconds(10), idle: Duration = .seconds(60)) {
        self.header = header
        self.idle = idle
    }
}

/// Closes a connection whose request head is not complete `timeout` after its first byte arrived,
/// so that slow clients trickling a header cannot hold connections open (Hummingbird's idle timeout
/// alone restarts with every request a client completes). It sits after the HTTP decoder, where
/// heads are seen decoded and answers end, and puts a `FirstByte` watcher in front of the decoder,
/// where bytes arrive; both run on the connection's event loop and share this state.
final class HeaderDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let timeout: TimeAmount
    /// Requests whose head was read and whose answer has not ended.
    private var inProgress = 0
    private var deadline: Scheduled<Void>?

    init(timeout: Duration) {
        self.timeout = TimeAmount(timeout)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        try? context.pipeline.syncOperations.addHandler(FirstByte(owner: self), position: .first)
    }

    func handlerRemoved(context: ChannelHandlerContext) { cancel() }

    func channelInactive(context: ChannelHandlerContext) {
        cancel()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) {
            inProgress += 1
            cancel()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { inProgress = max(0, inProgress - 1) }
        context.write(data, promise: promise)
    }

    /// Bytes arrived: when they begin a request, its head must be complete before the deadline.
    fileprivate func bytesArrived(context: ChannelHandlerContext) {
        guard inProgress == 0, deadline == nil else { return }
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [weak self] in
            self?.deadline = nil
            context.close(promise: nil)
        }
    }

    private func cancel() {
        deadline?.cancel()
        deadline = nil
    }

    /// In front of the HTTP decoder: tells the handler when bytes arrive.
    final class FirstByte: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = ByteBuffer
        typealias InboundOut = ByteBuffer
        private weak var owner: HeaderDeadlineHandler?

        init(owner: HeaderDeadlineHandler) { self.owner = owner }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            owner?.bytesArrived(context: context)
            context.fireChannelRead(data)
        }
    }
}
