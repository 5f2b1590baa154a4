import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization
import ZentraCore

/// `zentra serve --iso8583-port`: accepts card networks' TCP connections and answers each framed
/// message as its decision commits. A connection may have many messages in flight; answers go back
/// in the order they are ready, matched by the network through fields 11 and 37. On shutdown it
/// stops accepting connections and messages, answers every message already received, then closes.
public struct ISO8583Listener: Service {
    public struct Settings: Sendable {
        public var host: String
        public var port: Int
        /// Peers allowed to connect; empty allows any.
        public var allowedNetworks: [IPNetwork]
        /// Messages one connection may have in flight before the listener stops reading from it.
        public var inFlightPerConnection_max: Int

        public init(host: String = "127.0.0.1", port: Int, allowedNetworks: [IPNetwork] = [], inFlightPerConnection_max: Int = 512) {
            self.host = host
            self.port = port
            self.allowedNetworks = allowedNetworks
            self.inFlightPerConnection_max = inFlightPerConnection_max
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
                    group.addTask { await serve(connection) }
                }
            }
        }
    }

    private func permits(_ channel: any NIOCore.Channel) -> Bool {
        guard !settings.allowedNetworks.isEmpty else { return true }
        guard let text = channel.remoteAddress?.ipAddress, let address = IPAddress(text) else { return false }
        return settings.allowedNetworks.contains { $0.contains(address) }
    }

    /// One connection: read frames until the peer closes or the server shuts down, answer each in
    /// its own task, and close once every answer is written.
    private func serve(_ connection: Connection) async {
        guard permits(connection.channel) else {
            logger.notice("ISO 8583 connection refused by ZENTRA_ISO8583_ALLOWED_NETWORKS",
                          metadata: ["peer": "\(connection.channel.remoteAddress?.description ?? "?")"])
            try? await connection.channel.close()
            return
        }
        do {
            try await connection.executeThenClose { inbound, _ in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    // Children not yet collected, finished or not: collecting one when at the
                    // bound keeps a flooding peer to a fixed number of tasks.
                    var uncollected = 0
                    for try await frame in inbound.cancelOnGracefulShutdown() {
                        if uncollected >= settings.inFlightPerConnection_max {
                            try await group.next()
                            uncollected -= 1
                        }
                        uncollected += 1
                        group.addTask {
                            if try await !answer(frame, on: connection.channel) { try? await connection.channel.close() }
                        }
                    }
                    try await group.waitForAll()
                }
            }
        } catch {
            logger.debug("ISO 8583 connection ended", metadata: ["error": "\(error)"])
        }
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
