import Foundation
import NIOCore
import Synchronization
import Testing
import ZentraCore
import ZentraWebhooks

/// Outbound calls go where the policy looked, even when a name's answer changes between calls.
@Suite struct OutboundHTTPTests {
    /// A resolver whose answer the test changes, as a rebinding DNS server would.
    final class RebindingResolver: Sendable {
        let answer = Mutex<[String]>([])
        var resolve: OutboundHTTP.Resolver { { _ in self.answer.withLock { $0 } } }
    }

    static func post(_ url: String) -> OutboundRequest {
        OutboundRequest(url: url, headers: [("Content-Type", "application/json")], body: Array("{}".utf8))
    }

    static func execute(_ url: String, policy: OutboundURLPolicy, deadline: NIODeadline,
                        resolve: @escaping OutboundHTTP.Resolver) async throws -> OutboundAnswer {
        try await OutboundHTTP.execute(post(url), policy: policy, deadline: deadline, keep: 1024, read: 1024, resolve: resolve)
    }

    static func refusal(_ url: String, policy: OutboundURLPolicy, resolve: @escaping OutboundHTTP.Resolver) async -> String? {
        do {
            _ = try await execute(url, policy: policy, deadline: .now() + .seconds(10), resolve: resolve)
            return nil
        } catch let refusal as CallFailure {
            return refusal.rawValue
        } catch {
            return "\(error)"
        }
    }

    @Test func theConnectionGoesToTheAddressThatWasChecked() async throws {
        let first = WebhookReceiver(), second = WebhookReceiver()
        let resolver = RebindingResolver()
        let loopback = try OutboundURLPolicy(allowedNetworksList: "127.0.0.0/8")
        try await first.run(address: "127.0.0.1") { port in
            try await second.run(address: "127.0.0.2", port: port) { _ in
                // The system resolver knows no such name: only the checked answer can be reached.
                let url = "http://rebind.zentra.test:\(port)/hook"
                resolver.answer.withLock { $0 = ["127.0.0.1"] }
                let answer = try await Self.execute(url, policy: loopback, deadline: .now() + .seconds(10), resolve: resolver.resolve)
                #expect(answer.status == 200)
                #expect(first.calls(to: "/hook").map(\.host) == ["rebind.zentra.test:\(port)"], "Host names the URL's host, not the address")

                // The name now answers another address: a new connection goes there, the pooled one is not reused.
                resolver.answer.withLock { $0 = ["127.0.0.2"] }
                _ = try await Self.execute(url, policy: loopback, deadline: .now() + .seconds(10), resolve: resolver.resolve)
                #expect(first.calls(to: "/hook").count == 1 && second.calls(to: "/hook").count == 1)

                // A refused answer, alone or beside an allowed one, stops the call before any connection.
                for answer in [["10.0.0.1"], ["127.0.0.1", "169.254.169.254"], []] {
                    resolver.answer.withLock { $0 = answer }
                    let reason = await Self.refusal(url, policy: loopback, resolve: resolver.resolve)
                    #expect(reason == (answer.isEmpty ? "dns_failed" : "destination_refused"), "\(answer)")
                }
                resolver.answer.withLock { $0 = ["127.0.0.1"] }
                #expect(await Self.refusal(url, policy: OutboundURLPolicy(), resolve: resolver.resolve) == "destination_refused")
                #expect(first.calls(to: "/hook").count == 1 && second.calls(to: "/hook").count == 1, "no refused call connected")
            }
        }
    }

    /// A lookup that hangs (an unreachable DNS server) is bounded by the call's deadline, and calls
    /// to one host share it rather than each holding a thread.
    @Test func aHangingLookupEndsAtTheDeadlineAndIsShared() async throws {
        let lookups = Mutex(0)
        let release = DispatchSemaphore(value: 0)
        let hanging: OutboundHTTP.Resolver = { _ in
            lookups.withLock { $0 += 1 }
            release.wait()
            return ["127.0.0.1"]
        }
        let policy = try OutboundURLPolicy(allowedNetworksList: "127.0.0.0/8")
        let reasons = await withTaskGroup(of: String.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    do {
                        _ = try await Self.execute("http://hang.zentra.test/hook", policy: policy, deadline: .now() + .milliseconds(200),
                                                   resolve: hanging)
                        return "answered"
                    } catch CallFailure.timeout {
                        return "deadline"
                    } catch {
                        return "\(error)"
                    }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(reasons == Array(repeating: "deadline", count: 8), "every call ended at its deadline while the lookup still hung")
        #expect(lookups.withLock { $0 } == 1, "the calls shared one lookup")
        release.signal()
    }
}
