import Foundation
import NIOCore
import ZentraCore

/// HTTP/1.1 as Zentra's outbound calls speak it: a POST written as bytes, and the answer read
/// incrementally. Only what a webhook call needs: no request body streaming, no upgrades, no
/// pipelining. A general codec validated and re-encoded every header of every call, and that was
/// a large part of a delivery's CPU (PERFORMANCE.md).
enum HTTP1Wire {
    /// A request line and `Host` for `target` (path and query as written in the URL).
    static func requestPrefix(target: String, host: String) -> [UInt8] {
        Array("POST \(target) HTTP/1.1\r\nHost: \(host)\r\n".utf8)
    }

    /// The request after its prefix: the header fields, `Content-Length`, the body. Nil when a
    /// field could split the head (a control character, or a name that is not a token).
    static func request(prefix: [UInt8], headers: [(String, String)], body: [UInt8]) -> [UInt8]? {
        var bytes = prefix
        bytes.reserveCapacity(prefix.count + 256 + body.count)
        for (name, value) in headers {
            guard !name.isEmpty, name.utf8.allSatisfy(isTokenByte), value.utf8.allSatisfy(isValueByte) else { return nil }
            bytes.append(contentsOf: name.utf8)
            bytes.append(contentsOf: ": ".utf8)
            bytes.append(contentsOf: value.utf8)
            bytes.append(contentsOf: "\r\n".utf8)
        }
        bytes.append(contentsOf: "Content-Length: \(body.count)\r\n\r\n".utf8)
        bytes.append(contentsOf: body)
        return bytes
    }

    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        default: "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }

    private static func isValueByte(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "\t") || (byte >= 0x20 && byte != 0x7F)
    }

    /// The bytes an answer was not allowed to be (a head or a chunk line past its bound, a
    /// malformed status line, length or chunk size).
    struct Malformed: Error {}

    /// Reads one answer from the bytes as they arrive: `next` consumes what it can and returns
    /// each part, nil when it needs more bytes.
    struct ResponseReader {
        enum Part {
            case head(status: Int, retryAfter: String?)
            case body(ByteBuffer)
            /// The answer is complete; `keepAlive` when the connection may carry another.
            case end(keepAlive: Bool)
        }

        /// A head longer than this is refused (a webhook answer has no business being larger).
        static let head_max = 16 * 1024
        static let line_max = 1024

        private enum State {
            case head
            case fixed(remaining: Int)
            case chunkSize
            case chunkData(remaining: Int)
            case chunkDataEnd
            case trailers
            case untilClose
            case done
        }

        private var state = State.head
        private var keepAlive = true

        mutating func next(_ buffer: inout ByteBuffer) throws -> Part? {
            // A loop, not recursion: a peer's many chunk, trailer or interim lines in one read
            // must not deepen the stack.
            while true {
                switch state {
                case .head:
                    guard let head = try head(&buffer) else { return nil }
                    if let head { return head }
                case .fixed(let remaining):
                    guard let part = body(&buffer, upTo: remaining) else { return nil }
                    state = remaining - part.readableBytes == 0 ? .done : .fixed(remaining: remaining - part.readableBytes)
                    return .body(part)
                case .chunkSize:
                    guard let line = try line(&buffer) else { return nil }
                    let size = try Self.chunkSize(line)
                    state = size == 0 ? .trailers : .chunkData(remaining: size)
                case .chunkData(let remaining):
                    guard let part = body(&buffer, upTo: remaining) else { return nil }
                    state = remaining - part.readableBytes == 0 ? .chunkDataEnd : .chunkData(remaining: remaining - part.readableBytes)
                    return .body(part)
                case .chunkDataEnd:
                    guard let line = try line(&buffer) else { return nil }
                    guard line.isEmpty else { throw Malformed() }
                    state = .chunkSize
                case .trailers:
                    guard let line = try line(&buffer) else { return nil }
                    if line.isEmpty { state = .done }
                case .untilClose:
                    guard buffer.readableBytes > 0 else { return nil }
                    return .body(buffer.readSlice(length: buffer.readableBytes)!)
                case .done:
                    state = .head
                    defer { keepAlive = true }
                    return .end(keepAlive: keepAlive)
                }
            }
        }

        /// The peer closed: the end of an answer delimited by the close, or else nil (it ended
        /// early).
        mutating func closed() -> Part? {
            guard case .untilClose = state else { return nil }
            state = .head
            return .end(keepAlive: false)
        }

        /// The head's part; nil until the head has all arrived, and `.some(nil)` for an interim
        /// (1xx) answer, read and passed over: the final one follows.
        private mutating func head(_ buffer: inout ByteBuffer) throws -> Part?? {
            let view = buffer.readableBytesView
            guard let end = Self.endOfHead(view) else {
                if view.count > Self.head_max { throw Malformed() }
                return nil
            }
            guard end - view.startIndex <= Self.head_max else { throw Malformed() }
            let head = Array(view[view.startIndex..<end])
            buffer.moveReaderIndex(forwardBy: end - view.startIndex + 4)
            var lines = head.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map { line in
                line.last == UInt8(ascii: "\r") ? line.dropLast() : line
            }
            let statusLine = lines.removeFirst()
            // "HTTP/1.x SSS reason"
            let digits = statusLine.dropFirst(9).prefix(3)
            guard statusLine.count >= 12, statusLine.starts(with: "HTTP/1.".utf8), statusLine[statusLine.startIndex + 8] == UInt8(ascii: " "),
                digits.allSatisfy({ (48...57).contains($0) }), statusLine.count == 12 || statusLine[statusLine.startIndex + 12] == UInt8(ascii: " "),
                let status = Int(String(decoding: digits, as: UTF8.self)), status >= 100
            else { throw Malformed() }
            var persistent = statusLine[statusLine.startIndex + 7] == UInt8(ascii: "1")
            var length: Int?
            var chunked = false
            var encoded = false
            var retryAfter: String?
            for line in lines {
                guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { throw Malformed() }
                let name = line[line.startIndex..<colon]
                func value() -> String { String(decoding: line[(colon + 1)...], as: UTF8.self).trimming(.whitespaces) }
                if Self.named(name, "content-length") {
                    let text = value()
                    guard !text.isEmpty, text.utf8.allSatisfy({ (48...57).contains($0) }), let parsed = Int(text), length == nil || length == parsed
                    else { throw Malformed() }
                    length = parsed
                } else if Self.named(name, "transfer-encoding") {
                    encoded = true
                    chunked = value().lowercased().split(separator: ",").last?.trimming(.whitespaces) == "chunked"
                } else if Self.named(name, "connection") {
                    let tokens = value().lowercased().split(separator: ",").map { $0.trimming(.whitespaces) }
                    if tokens.contains("close") { persistent = false } else if tokens.contains("keep-alive") { persistent = true }
                } else if Self.named(name, "retry-after") {
                    retryAfter = value()
                }
            }
            switch status {
            case 101: throw Malformed()
            case 100..<200: return .some(nil)
            default: break
            }
            keepAlive = persistent
            if status == 204 || status == 304 {
                state = .done
            } else if encoded {
                // A coding other than chunked last: the body runs until the close.
                state = chunked ? .chunkSize : .untilClose
                if !chunked { keepAlive = false }
            } else if let length {
                state = length == 0 ? .done : .fixed(remaining: length)
            } else {
                state = .untilClose
                keepAlive = false
            }
            return .head(status: status, retryAfter: retryAfter)
        }

        /// Whether a field's name is `lowercase`, in any case.
        private static func named(_ name: ArraySlice<UInt8>, _ lowercase: StaticString) -> Bool {
            guard name.count == lowercase.utf8CodeUnitCount else { return false }
            return lowercase.withUTF8Buffer { expected in
                zip(name, expected).allSatisfy { byte, want in ((65...90).contains(byte) ? byte | 0x20 : byte) == want }
            }
        }

        private static func endOfHead(_ view: ByteBufferView) -> Int? {
            var index = view.startIndex
            while index + 3 < view.endIndex {
                if view[index] == 13, view[index + 1] == 10, view[index + 2] == 13, view[index + 3] == 10 { return index }
                index += 1
            }
            return nil
        }

        private func body(_ buffer: inout ByteBuffer, upTo remaining: Int) -> ByteBuffer? {
            guard buffer.readableBytes > 0 else { return nil }
            return buffer.readSlice(length: min(remaining, buffer.readableBytes))
        }

        /// One CRLF-terminated line without its end, or nil until it is all there.
        private func line(_ buffer: inout ByteBuffer) throws -> [UInt8]? {
            let view = buffer.readableBytesView
            guard let newline = view.firstIndex(of: 10) else {
                if view.count > Self.line_max { throw Malformed() }
                return nil
            }
            guard newline - view.startIndex <= Self.line_max else { throw Malformed() }
            var line = Array(view[view.startIndex..<newline])
            buffer.moveReaderIndex(forwardBy: newline - view.startIndex + 1)
            if line.last == 13 { line.removeLast() }
            return line
        }

        /// A chunk's size: hex digits, then perhaps `;` and extensions, which are ignored.
        private static func chunkSize(_ line: [UInt8]) throws -> Int {
            let digits = line.prefix { $0 != UInt8(ascii: ";") }.filter { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") }
            guard !digits.isEmpty, digits.count <= 15 else { throw Malformed() }
            var size = 0
            for digit in digits {
                guard let value = Self.hexValue(digit) else { throw Malformed() }
                size = size << 4 | value
            }
            return size
        }

        private static func hexValue(_ byte: UInt8) -> Int? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(byte - UInt8(ascii: "A") + 10)
            default: nil
            }
        }
    }
}
