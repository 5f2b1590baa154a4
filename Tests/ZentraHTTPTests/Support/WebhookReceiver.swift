import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import Testing

/// A customer's webhook receiver served for real on loopback. Each path answers from its script in
/// order (the last answer repeats) and every call is kept with its headers and exact body.
final class WebhookReceiver: Sendable {
    struct Answer: Sendable {
        var status: HTTPResponse.Status = .ok
        var headers: [String: String] = [:]
        var body = "ok"
        var delay: Duration = .zero
        /// The call waits, unanswered, until the test `release`s its path.
        var held = false
    }

    struct Call: Sendable {
        let path: String
        let id: String
        let timestamp: Int64
        let signature: String
        let body: [UInt8]
        /// When the request reached the handler, on the wall clock the server's records use.
        let at: Date
        /// The `Host` the caller sent.
        let host: String?
    }

    let scripts = Mutex<[String: [Answer]]>([:])
    let calls = Mutex<[Call]>([])

    func script(_ path: String, _ answers: Answer...) { scripts.withLock { $0[path] = answers } }

    func calls(to path: String) -> [Call] { calls.withLock { $0.filter { $0.path == path } } }

    /// Paths whose held calls may now be answered.
    let released = Mutex<Set<String>>([])

    func release(_ path: String) { _ = released.withLock { $0.insert(path) } }

    /// Serves on `address` (any loopback address: Linux answers all of 127.0.0.0/8) and `port`
    /// (0: any free one) while `body` runs with the port.
    func run(address: String = "127.0.0.1", port: Int = 0, _ body: @escaping @Sendable (Int) async throws -> Void) async throws {
        let router = Router()
        router.post("{name}") { request, context -> Response in
            let arrived = Date()
            let path = "/" + (context.parameters.get("name") ?? "")
            let bytes = Array(try await request.body.collect(upTo: 1 << 20).readableBytesView)
            func header(_ name: String) -> String { request.headers[HTTPField.Name(name)!] ?? "" }
            let answer = self.scripts.withLock { scripts -> Answer in
                guard var answers = scripts[path], !answers.isEmpty else { return Answer() }
                let next = answers.count > 1 ? answers.removeFirst() : answers[0]
                scripts[path] = answers
                return next
            }
            self.calls.withLock {
                $0.append(Call(path: path, id: header("webhook-id"), timestamp: Int64(header("webhook-timestamp")) ?? 0,
                               signature: header("webhook-signature"), body: bytes, at: arrived, host: request.head.authority))
            }
            while answer.held, !self.released.withLock({ $0.contains(path) }) { try await Task.sleep(for: .milliseconds(10)) }
            try await Task.sleep(for: answer.delay)
            var headers: HTTPFields = [.contentType: "text/plain"]
            for (name, value) in answer.headers { headers[HTTPField.Name(name)!] = value }
            return Response(status: answer.status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: answer.body)))
        }
        let (bound, announce) = AsyncStream.makeStream(of: Int.self)
        // Quiet: the test cancels the server mid-drain, which Hummingbird reports as an error.
        var logger = Logger(label: "webhook-receiver")
        logger.logLevel = .critical
        let app = Application(router: router, configuration: .init(address: .hostname(address, port: port)), onServerRunning: { channel in
            announce.yield(channel.localAddress?.port ?? 0)
        }, logger: logger)
        let services = ServiceGroup(configuration: .init(services: [app], logger: app.logger))
        try await withThrowingTaskGroup { group in
            group.addTask { try await services.run() }
            defer { group.cancelAll() }
            var ports = bound.makeAsyncIterator()
            try await body(try #require(await ports.next()))
            await services.triggerGracefulShutdown()
        }
    }
}
