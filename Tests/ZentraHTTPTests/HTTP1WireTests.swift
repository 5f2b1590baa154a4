import NIOCore
import Testing
import ZentraCore
@testable import ZentraWebhooks

/// The outbound HTTP/1.1 wire: requests written as bytes, answers read however the bytes arrive.
@Suite struct HTTP1WireTests {
    /// What a reader made of an answer.
    struct Read: Equatable {
        var status: Int?
        var retryAfter: String?
        var body: [UInt8] = []
        var keepAlive: Bool?
    }

    /// Reads `answer` handed over in pieces of `piece` bytes (0: all at once); `close` when the
    /// peer closes after the last byte.
    static func read(_ answer: String, piece: Int = 0, close: Bool = false) throws -> Read {
        var reader = HTTP1Wire.ResponseReader()
        var read = Read()
        var buffer = ByteBuffer()
        let bytes = Array(answer.utf8)
        let size = piece == 0 ? max(bytes.count, 1) : piece
        func take(_ part: HTTP1Wire.ResponseReader.Part) {
            switch part {
            case .head(let status, let retryAfter): (read.status, read.retryAfter) = (status, retryAfter)
            case .body(let bytes): read.body += Array(bytes.readableBytesView)
            case .end(let keepAlive): read.keepAlive = keepAlive
            }
        }
        for start in stride(from: 0, to: bytes.count, by: size) {
            buffer.writeBytes(bytes[start..<min(start + size, bytes.count)])
            while read.keepAlive == nil, let part = try reader.next(&buffer) { take(part) }
        }
        if close, read.keepAlive == nil, let part = reader.closed() { take(part) }
        return read
    }

    static let answers: [(String, Read)] = [
        ("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nRetry-After: 7\r\n\r\nhello",
         Read(status: 200, retryAfter: "7", body: Array("hello".utf8), keepAlive: true)),
        ("HTTP/1.1 202 Accepted\r\ntransfer-encoding: chunked\r\n\r\n4;name=value\r\nWiki\r\n5\r\npedia\r\n0\r\nExpires: never\r\n\r\n",
         Read(status: 202, body: Array("Wikipedia".utf8), keepAlive: true)),
        ("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nServer: x\r\n\r\n", Read(status: 204, keepAlive: true)),
        ("HTTP/1.1 500 Internal Server Error\r\nCONNECTION: Close\r\ncontent-length: 2\r\n\r\nno",
         Read(status: 500, body: Array("no".utf8), keepAlive: false)),
        ("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", Read(status: 200, keepAlive: false)),
        ("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", Read(status: 200, keepAlive: true)),
    ]

    @Test(arguments: [0, 1, 3, 17])
    func answersAreReadWhicheverWayTheirBytesArrive(piece: Int) throws {
        for (answer, expected) in Self.answers {
            #expect(try Self.read(answer, piece: piece) == expected, "\(answer.debugDescription)")
        }
    }

    @Test func anAnswerWithoutALengthEndsWithTheConnection() throws {
        let answer = "HTTP/1.0 200 OK\r\nServer: x\r\n\r\nall of it"
        #expect(try Self.read(answer, piece: 4).keepAlive == nil)
        #expect(try Self.read(answer, piece: 4, close: true) == Read(status: 200, body: Array("all of it".utf8), keepAlive: false))
        // A chunked answer cut short is no answer.
        #expect(try Self.read("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", close: true).keepAlive == nil)
    }

    /// A peer's many interim answers, chunks and trailer lines arriving in one read are read one
    /// after the other, however many (the reader loops rather than recurse).
    @Test func manyLinesInOneReadAreReadInALoop() throws {
        let answer = String(repeating: "HTTP/1.1 100 Continue\r\n\r\n", count: 20_000) + "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            + String(repeating: "1\r\na\r\n", count: 20_000) + "0\r\n" + String(repeating: "x: y\r\n", count: 50_000) + "\r\n"
        let read = try Self.read(answer)
        #expect(read.status == 200 && read.body.count == 20_000 && read.keepAlive == true)
    }

    @Test func malformedAnswersAreRefused() {
        let malformed = [
            "HTTX/1.1 200 OK\r\n\r\n", "HTTP/1.1 2000 OK\r\n\r\n", "HTTP/1.1 OK\r\n\r\n", "HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n", "HTTP/1.1 101 Switching Protocols\r\n\r\n",
            "HTTP/1.1 200 OK\r\nX: " + String(repeating: "a", count: HTTP1Wire.ResponseReader.head_max) + "\r\n\r\n",
        ]
        for answer in malformed {
            #expect(throws: HTTP1Wire.Malformed.self, "\(answer.prefix(60).debugDescription)") { _ = try Self.read(answer) }
        }
        // Bounded before the end of the head arrives, too.
        #expect(throws: HTTP1Wire.Malformed.self) { _ = try Self.read("HTTP/1.1 200 OK\r\n" + String(repeating: "a", count: 20_000), piece: 1000) }
    }

    @Test func requestsAreWrittenWholeAndNoFieldCanSplitTheHead() throws {
        let prefix = HTTP1Wire.requestPrefix(target: "/hooks?x=1", host: "example.com:8080")
        let request = try #require(HTTP1Wire.request(prefix: prefix, headers: [("webhook-id", "msg_1"), ("User-Agent", "Zentra\t1")],
                                                     body: Array("{}".utf8)))
        #expect(String(decoding: request, as: UTF8.self)
            == "POST /hooks?x=1 HTTP/1.1\r\nHost: example.com:8080\r\nwebhook-id: msg_1\r\nUser-Agent: Zentra\t1\r\nContent-Length: 2\r\n\r\n{}")
        for (name, value) in [("webhook-id", "a\r\nX-Injected: 1"), ("webhook-id", "a\nb"), ("bad name", "v"), ("", "v"), ("x:y", "v"), ("x", "\u{7F}")] {
            #expect(HTTP1Wire.request(prefix: prefix, headers: [(name, value)], body: []) == nil, "\(name.debugDescription): \(value.debugDescription)")
        }
    }

    @Test func aURLIsReadOnceIntoItsDestination() throws {
        let destination = try OutboundHTTP.destination(of: "https://Hooks.Example.com:8443/in/bound?key=1")
        #expect(destination.tls && destination.host == "hooks.example.com" && destination.literal == nil && destination.port == 8443)
        #expect(String(decoding: destination.prefix, as: UTF8.self) == "POST /in/bound?key=1 HTTP/1.1\r\nHost: hooks.example.com:8443\r\n")
        let literal = try OutboundHTTP.destination(of: "http://127.0.0.1")
        #expect(literal.literal == IPAddress(ipv4: 0x7F00_0001) && literal.port == 80 && String(decoding: literal.prefix, as: UTF8.self) == "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        for url in ["ftp://example.com/", "http:///nohost", "not a url", "http://exa mple.com/"] {
            #expect(throws: CallFailure.self, "\(url)") { _ = try OutboundHTTP.destination(of: url) }
        }
    }
}
