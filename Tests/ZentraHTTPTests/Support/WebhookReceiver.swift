import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
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
    }

    struct Call: Sendable {
        let path: String
        let id: String
        let timestamp: Int64
        let signature: String
        let body: [UInt8]
        /// When the request reached the handler, on the wall clock the server's records use.
        let at: Date
    }

    let scripts = Mutex<[String: [Answer]]>([:])
    let calls = Mutex<[Call]>([])

    func script(_ path: String, _ answers: Answer...) { scripts.withLock { $0[path] = answers } }

    func calls(to path: String) -> [Call] { calls.withLock { $0.filter { $0.path == path } } }

    func run(_ body: @escaping @Sendable (Int) async throws -> Void) async throws {
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
                               signature: header("webhook-signature"), body: bytes, at: arrived))
            }
            try await Task.sleep(for: answer.delay)
            var headers: HTTPFields = [.contentType: "text/plain"]
            for (name, value) in answer.headers { headers[HTTPField.Name(name)!] = value }
            return Response(status: answer.status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: answer.body)))
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in try await body(try #require(client.port)) }
    }
}
