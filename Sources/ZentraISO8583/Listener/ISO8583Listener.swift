import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization
import ZentraCore
import ZentraStorage

/// `zentra serve --iso8583-port`: accepts card networks' TCP connections and answers each framed
/// message as its decision commits. A connection may have many messages in flight; answers go back
/// in the order they are ready, matched by the network through fields 11 and 37. On shutdown it
/// stops accepting connections and messages, answers every message already received, then closes
/// each connection once its peer has read the answers.
public struct ISO8583Listener: Service {
    public struct Settings: Sendable {
        public var host: String
        public var port: Int
        /// Peers allowed to connect; empty allows any.
        public var allowedNetworks: [IPNetwork]
        /// Messages one connection may have in flight before the listener stops reading from it.
        public var inFlightPerConnection_max: Int
        /// On shutdown, how long a peer has to close its side once it has read every answer.
        public var linger: Duration

        public init(host: String = "127.0.0.1", port: Int, allowedNetworks: [IPNetwork] = [], inFlightPerConnection_max: Int = 512,
                    linger: Duration = .seconds(5)) {
            self.host = host
            self.port = port
            self.allowedNetworks = allowedNetworks
            self.inFlightPerConnection_max = inFlightPerConnection_max
            self.linger = linger
        }
    }

    let settings: Settings
    let exchange: ISO8583Exchange
    let metrics: ISO8583Metrics
    let logger: Logger
    /// Told the port once bound (tests bind port 0).
    let onBound: @Sendable (Int) -> Void

    public init(settings: Settings, exchange: ISO8583Exchange, metrics: ISO8583Metrics, logger: Logger,
                onBound: @escaping @Sendable (Int) -> Void = { _ in }) {
        self.settings = settings
        self.exchange = exchange
        self.metrics = metrics
        self.logger = logger
        self.onBound = onBound
    }

    typealias Connection = NIOAsyncChannel<ByteBuffer, ByteBuffer>

    public func run() async throws {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            // A peer that closes its side after its last message still gets every answer.
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .bind(host: settings.host, port: settings.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(ISO8583FrameDecoder()))
                    try channel.pipeline.syncOperations.addHandler(MessageToByteHandler(ISO8583FrameEncoder()))
                    return try Connection(wrappingChannelSynchronously: channel)
                }
            }
        let port = server.channel.localAddress?.port ?? settings.port
        logger.info("ISO 8583 listening", metadata: ["host": "\(settings.host)", "port": "\(port)"])
        onBound(port)
        try await withThrowingDiscardingTaskGroup { group in
            try await server.executeThenClose { connections in
                for try await connection in connections.cancelOnGracefulShutdown() {
                    // A connection's tasks run on its channel's loop: a frame read there is decoded,
                    // submitted and its answer written there, without waking a thread of Swift's
                    // shared pool at each step (PERFORMANCE.md, "A connection on its own loop").
                    group.addTask(executorPreference: EventLoopExecutor(connection.channel.eventLoop)) { await serve(connection) }
                }
            }
        }
    }

    private func permits(_ channel: any NIOCore.Channel) -> Bool {
        guard !settings.allowedNetworks.isEmpty else { return true }
        guard let text = channel.remoteAddress?.ipAddress, let address = IPAddress(text) else { return false }
        return settings.allowedNetworks.contains { $0.contains(address) }
    }

    /// One connection: read frames until the peer closes, answer each in its own task, and close
    /// once every answer is written. On shutdown the frames read from then on are dropped
    /// undecided (the network times them out), and the connection closes the lingering way: once
    /// the last answer is written its output closes, so the peer reads every answer and then the
    /// end, and the listener reads on until the peer closes (at most `linger`). Closing a socket
    /// with unread bytes resets it, and a reset throws away answers the peer has not read yet,
    /// although their decisions committed.
    private func serve(_ connection: Connection) async {
        guard permits(connection.channel) else {
            logger.notice("ISO 8583 connection refused by ZENTRA_ISO8583_ALLOWED_NETWORKS",
                          metadata: ["peer": "\(connection.channel.remoteAddress?.description ?? "?")"])
            try? await connection.channel.close()
            return
        }
        let channel = connection.channel
        let answers = AnswersInFlight(limit: settings.inFlightPerConnection_max)
        do {
            try await connection.executeThenClose { inbound, _ in
                try await withThrowingDiscardingTaskGroup { group in
                    group.addTask { await closeOnShutdown(channel, answers: answers) }
                    for try await frame in inbound {
                        guard await answers.admit() else { continue }
                        group.addTask {
                            defer { answers.finished() }
                            if try await !answer(frame, on: channel) { try? await channel.close() }
                        }
                    }
                    await answers.drained()
                    group.cancelAll()
                }
            }
        } catch {
            logger.debug("ISO 8583 connection ended", metadata: ["error": "\(error)"])
        }
    }

    /// Waits for shutdown (returns when cancelled first), then takes no more messages, closes the
    /// output once every answer is written and gives the peer `linger` to close its side.
    private func closeOnShutdown(_ channel: any NIOCore.Channel, answers: AnswersInFlight) async {
        do { try await gracefulShutdown() } catch { return }
        answers.close()
        await answers.drained()
        try? await channel.close(mode: .output)
        do { try await Task.sleep(for: settings.linger) } catch { return }
        try? await channel.close()
    }

    /// Answers one frame; false when it was not a message this link can answer, and the
    /// connection closes. Returns once the answer is written to the socket: the connection closes
    /// when every answer task has returned, and a close drops writes still pending (an answer
    /// handed only to the async writer was lost at shutdown although its decision committed).
    private func answer(_ frame: ByteBuffer, on channel: any NIOCore.Channel) async throws -> Bool {
        let start = ContinuousClock.now
        metrics.started()
        let bytes = Array(frame.readableBytesView)
        let mti = Self.metricLabel(bytes)
        guard let answer = await exchange.answer(frame: bytes) else {
            metrics.answered(mti: mti, code: "none", duration: ContinuousClock.now - start)
            logger.notice("ISO 8583 frame without a request type: closing the connection", metadata: ["bytes": "\(bytes.count)"])
            return false
        }
        let encoded: [UInt8]
        do {
            encoded = try answer.encoded()
        } catch {
            metrics.answered(mti: mti, code: "none", duration: ContinuousClock.now - start)
            logger.error("ISO 8583 answer could not be encoded", metadata: ["mti": "\(answer.mti)", "error": "\(error)"])
            return false
        }
        try await channel.writeAndFlush(ByteBuffer(bytes: encoded))
        metrics.answered(mti: mti, code: answer[39] ?? "none", duration: ContinuousClock.now - start)
        return true
    }

    /// The message types this link knows keep their own series; anything else is `other`, so a
    /// peer cannot grow the label set.
    static func metricLabel(_ frame: [UInt8]) -> String {
        let mti = String(decoding: frame.prefix(4), as: UTF8.self)
        return ["0100", "0120", "0400", "0420", "0800"].contains(mti) ? mti : "other"
    }
}

/// The answers one connection owes: at most `limit` at once (`admit` waits for a free one), none
/// after `close`, and `drained` waits until every admitted answer is written or failed.
final class AnswersInFlight: Sendable {
    private struct State {
        var count = 0
        var closed = false
        var slotWaiters: [CheckedContinuation<Bool, Never>] = []
        var drainWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private let limit: Int
    private let state = Mutex(State())

    init(limit: Int) {
        self.limit = limit
    }

    /// True when the message may be answered; false once closed.
    func admit() async -> Bool {
        if let now = state.withLock({ Self.admit(&$0, limit: limit) }) { return now }
        return await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let now = state.withLock { state -> Bool? in
                let now = Self.admit(&state, limit: limit)
                if now == nil { state.slotWaiters.append(continuation) }
                return now
            }
            if let now { continuation.resume(returning: now) }
        }
    }

    /// The answer to `admit` when there is one without waiting.
    private static func admit(_ state: inout State, limit: Int) -> Bool? {
        if state.closed { return false }
        guard state.count < limit else { return nil }
        state.count += 1
        return true
    }

    func finished() {
        let (slot, drained) = state.withLock { state -> (CheckedContinuation<Bool, Never>?, [CheckedContinuation<Void, Never>]) in
            if !state.closed, !state.slotWaiters.isEmpty { return (state.slotWaiters.removeFirst(), []) }
            state.count -= 1
            guard state.count == 0 else { return (nil, []) }
            defer { state.drainWaiters = [] }
            return (nil, state.drainWaiters)
        }
        slot?.resume(returning: true)
        for waiter in drained { waiter.resume() }
    }

    func close() {
        let refused = state.withLock { state in
            state.closed = true
            defer { state.slotWaiters = [] }
            return state.slotWaiters
        }
        for waiter in refused { waiter.resume(returning: false) }
    }

    func drained() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { state -> Bool in
                guard state.count > 0 else { return true }
                state.drainWaiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }
}
