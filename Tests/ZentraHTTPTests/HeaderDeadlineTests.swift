import HTTPTypes
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import Testing
@testable import ZentraHTTP

/// A request head must be complete a fixed time after its first byte, however the bytes trickle,
/// and the deadline never cuts a connection between requests. The channel's clock is the test's:
/// nothing here waits for real time.
@Suite struct HeaderDeadlineTests {
    static let timeout = Duration.milliseconds(500)

    /// A server connection's pipeline as `zentra serve` builds it: HTTP/1 decoding, the shared
    /// HTTP types, then the deadline.
    func connection() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandlers([
            ByteToMessageHandler(HTTPRequestDecoder()), HTTPResponseEncoder(), HTTP1ToHTTPServerCodec(secure: false),
            HeaderDeadlineHandler(timeout: Self.timeout),
        ])
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 8080)).wait()
        return channel
    }

    func send(_ text: String, on channel: EmbeddedChannel) throws {
        try channel.writeInbound(ByteBuffer(string: text))
    }

    @Test func aHalfHeaderIsClosedAtTheDeadlineAfterItsFirstByte() throws {
        let channel = try connection()
        try send("GET /healthz HTTP/1.1\r\nHost: zentra\r\nX-Slow: ", on: channel)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(499))
        #expect(channel.isActive, "still within the deadline")
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        #expect(!channel.isActive, "closed at the deadline")
    }

    @Test func aTrickledHeaderDoesNotMoveTheDeadline() throws {
        let channel = try connection()
        for byte in "GET /healthz HTTP/1.1\r\nHost: zentra\r\nX-Slow: aaaaaaaaaa" {
            guard channel.isActive else { break }
            try send(String(byte), on: channel)
            channel.embeddedEventLoop.advanceTime(by: .milliseconds(20))
        }
        #expect(!channel.isActive, "a byte every 20 ms kept the connection past the deadline")
    }

    @Test func aCompleteHeadStopsTheDeadlineAndTheNextRequestStartsItAgain() throws {
        let channel = try connection()
        try send("GET /healthz HTTP/1.1\r\nHost: zentra\r\n\r\n", on: channel)
        channel.embeddedEventLoop.advanceTime(by: .seconds(60))
        #expect(channel.isActive, "a request being answered is not cut by the header deadline")

        try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .ok)))
        try channel.writeOutbound(HTTPResponsePart.end(nil))
        channel.embeddedEventLoop.advanceTime(by: .seconds(60))
        #expect(channel.isActive, "an idle kept-alive connection is left to the idle timeout")

        try send("GET /healthz HTTP/1.1\r\nHost: zen", on: channel)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(500))
        #expect(!channel.isActive, "the next request's head has its own deadline")
    }
}
