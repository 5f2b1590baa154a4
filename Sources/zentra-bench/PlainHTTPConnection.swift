#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import Foundation

/// One HTTP/1.1 keep-alive connection on a blocking socket, for the load generator: it writes a
/// request and reads the answer (`Content-Length` bodies, which is what the server sends), nothing
/// more. The bench shares the 2 cores with the server it measures; AsyncHTTPClient spent about
/// half a core at 1,000 requests/s, and with it the server answered a third fewer (wrk with the
/// same requests: 1,578/s against 1,000–1,130/s).
final class PlainHTTPConnection {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    private let descriptor: Int32
    private let hostHeader: String
    private var buffer: [UInt8] = []
    private var chunk = [UInt8](repeating: 0, count: 1 << 16)

    /// `url` is `http://host:port`; the path goes with each request.
    init(url: URL) throws {
        guard url.scheme == "http", let host = url.host else { throw Failure(description: "only http://host:port URLs: \(url)") }
        let port = url.port ?? 80
        hostHeader = "\(host):\(port)"
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Self.streamSocket
        var found: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &found) == 0, let address = found else {
            throw Failure(description: "cannot resolve \(host)")
        }
        defer { freeaddrinfo(found) }
        descriptor = socket(address.pointee.ai_family, address.pointee.ai_socktype, address.pointee.ai_protocol)
        guard descriptor >= 0 else { throw Failure(description: "socket: \(errno)") }
        guard connect(descriptor, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0 else {
            close(descriptor)
            throw Failure(description: "connect to \(hostHeader): \(errno)")
        }
        var one: Int32 = 1
        setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        buffer.reserveCapacity(1 << 16)
    }

    deinit { close(descriptor) }

    #if canImport(Glibc)
    /// A closed connection is an error to report, not a SIGPIPE that ends the bench.
    private static let sendFlags = Int32(MSG_NOSIGNAL)
    private static let streamSocket = Int32(SOCK_STREAM.rawValue)
    #else
    private static let sendFlags: Int32 = 0
    private static let streamSocket = SOCK_STREAM
    #endif

    /// Sends a POST and returns the answer's status and body.
    func post(path: String, headers: [(String, String)], body: [UInt8]) throws -> (status: Int, body: ArraySlice<UInt8>) {
        var head = "POST \(path) HTTP/1.1\r\nHost: \(hostHeader)\r\nContent-Length: \(body.count)\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "\r\n"
        try write(Array(head.utf8) + body)
        return try readResponse()
    }

    private func write(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Self.sendFlags) }
            guard count > 0 else { throw Failure(description: "send: \(errno)") }
            sent += count
        }
    }

    private func readResponse() throws -> (status: Int, body: ArraySlice<UInt8>) {
        var headerEnd: Int?
        while true {
            headerEnd = Self.find(Self.headerSeparator, in: buffer[...]).map { $0 + Self.headerSeparator.count }
            if headerEnd != nil { break }
            try receive()
        }
        let head = String(decoding: buffer[..<headerEnd!], as: UTF8.self).lowercased()
        guard head.hasPrefix("http/1.1 "), let status = Int(head.dropFirst(9).prefix(3)) else {
            throw Failure(description: "not an HTTP/1.1 answer")
        }
        guard let lengthLine = head.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
              let length = Int(lengthLine.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) else {
            throw Failure(description: "an answer without Content-Length")
        }
        while buffer.count < headerEnd! + length { try receive() }
        let body = buffer[headerEnd!..<(headerEnd! + length)]
        buffer.removeFirst(headerEnd! + length)
        return (status, body)
    }

    private static let headerSeparator = Array("\r\n\r\n".utf8)

    /// Where `needle` starts in `haystack` (a byte scan).
    static func find(_ needle: [UInt8], in haystack: ArraySlice<UInt8>) -> Int? {
        guard let first = needle.first, haystack.count >= needle.count else { return nil }
        return haystack.withUnsafeBufferPointer { hay in
            needle.withUnsafeBufferPointer { pin in
                for offset in 0...(hay.count - pin.count)
                where hay[offset] == first && memcmp(hay.baseAddress! + offset, pin.baseAddress!, pin.count) == 0 {
                    return haystack.startIndex + offset
                }
                return nil
            }
        }
    }

    private func receive() throws {
        let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { throw Failure(description: count == 0 ? "the server closed the connection" : "recv: \(errno)") }
        buffer.append(contentsOf: chunk[..<count])
    }
}
