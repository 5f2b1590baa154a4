import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import ZentraCommandLine
import ZentraCore
import ZentraStorage
import ZentraApp
import ZentraWebhooks

/// `zentra-bench webhooks`: webhook delivery with authorizations as the event source. Runs a
/// loopback receiver (answers 204 after about 1 ms; one endpoint may answer 500 throughout),
/// registers endpoints subscribing to `authorization.*` on a running server, then per scenario
/// drives `POST /authorizations` in closed loop (the peak) and in open loop at half of that peak,
/// and reports the delivery rate beside the authorization rate of the same phase, the backlog left
/// when the load stops, and the lag from each event's `created_at` to its arrival. Then it times
/// rendering event bodies, and signing and sending one alone (no database): the delivery ceiling.
struct BenchWebhooks: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "webhooks", abstract: "Webhook delivery of authorization events from a running `zentra serve`.")

    @Option(help: "The running server, http://host:port.") var url = "http://127.0.0.1:8080"
    @Option(help: "A fixtures file written by `zentra-bench fixtures`.") var fixtures: String
    @Option(parsing: .upToNextOption, help: "Endpoint counts, one scenario each.") var endpoints: [Int] = [1, 10]
    @Flag(inversion: .prefixedNo, help: "Also run the last scenario with one more endpoint that answers 500 throughout.")
    var failing = true
    @Option(help: "Concurrent authorization connections.") var concurrency = 32
    @Option(help: "Seconds of each phase (after a warm-up of 2 s).") var duration = 20
    @Option(help: "The server's process id, to report its CPU time per authorization.") var serverPid: Int32?
    @OptionGroup var database: DatabaseOption

    func validate() throws {
        guard endpoints.allSatisfy({ (1...50).contains($0) }), (1...1_024).contains(concurrency), (1...3_600).contains(duration) else {
            throw ValidationError("endpoints 1...50 each, concurrency 1...1024, duration 1...3600")
        }
    }

    func run() async throws {
        let made = try JSONDecoder().decode(BenchFixtures.Made.self, from: Data(contentsOf: URL(fileURLWithPath: fixtures)))
        let receiver = WebhookBenchReceiver()
        let port = try await receiver.start()
        let server = try LoadShape.baseURL(url)
        let api = BenchAPI(base: url, key: made.adminKey)
        var scenarios = endpoints.map { ($0, false) }
        if failing, let last = endpoints.last { scenarios.append((last, true)) }
        // The scenario with a failing endpoint runs its open loop at the rate the same endpoints
        // had without it, so the healthy endpoints' lag compares like for like.
        var halfRates: [Int: Int] = [:]
        for (count, withFailing) in scenarios {
            var ids: [String] = []
            for index in 0..<count { ids.append(try await api.createEndpoint(url: "http://127.0.0.1:\(port)/hooks/\(index)")) }
            if withFailing { ids.append(try await api.createEndpoint(url: "http://127.0.0.1:\(port)/hooks/failing")) }
            let title = "\(count) endpoint\(count == 1 ? "" : "s")" + (withFailing ? " and one answering 500" : "")
            let closed = LoadShape(urls: [server], key: made.networkKey, cards: made.cards, concurrency: concurrency, interval: nil)
            _ = try await closed.drive(for: .seconds(2), tag: "w\(ids.count)")
            try await api.drained(Array(ids.prefix(count)))
            let peak = try await phase("\(title), authorizations in closed loop", load: closed, tag: "p\(ids.count)", receiver: receiver,
                                       api: api, endpoints: Array(ids.prefix(count)))
            let rate = withFailing ? halfRates[count] ?? max(1, Int(peak / 2)) : max(1, Int(peak / 2))
            halfRates[count] = halfRates[count] ?? rate
            let half = LoadShape(urls: [server], key: made.networkKey, cards: made.cards, concurrency: concurrency,
                                 interval: .seconds(Double(concurrency) / Double(rate)))
            let which = withFailing ? "as without it" : "half of that peak"
            _ = try await phase("\(title), authorizations in open loop at \(rate)/s (\(which))", load: half, tag: "h\(ids.count)",
                                receiver: receiver, api: api, endpoints: Array(ids.prefix(count)))
            for id in ids { try await api.deleteEndpoint(id) }
        }
        let body = try await measureRendering(tenant: TenantID(unchecked: made.tenant))
        if let body { try await measureSending(body, port: port) }
    }

    /// The part of every delivery that no storage design removes, alone: signing and sending a
    /// rendered body, ten endpoints at the server's default sends in flight each, for ten seconds,
    /// with no database. Sender and receiver share this process, so its CPU per send counts both:
    /// the ceiling of a delivery design that writes nothing per delivery.
    private func measureSending(_ body: [UInt8], port: Int) async throws {
        let sender = WebhookSender(policy: try OutboundURLPolicy(allowedNetworksList: "127.0.0.0/8"), clock: SystemClock(), timeoutMs: 10_000)
        let secret = "whsec_" + Data(repeating: 7, count: 32).base64EncodedString()
        let now = SystemClock().now()
        let sent = Mutex(0)
        let perEndpoint = WebhookDeliverySettings().concurrency
        let cpuBefore = BenchProcess.cpuSeconds(getpid())
        let clock = ContinuousClock()
        let started = clock.now
        await withTaskGroup(of: Int.self) { group in
            for endpoint in 0..<10 {
                let delivery = WebhookDelivery(id: WebhookDeliveryID(unchecked: "msg_bench\(endpoint)"), webhookEndpoint: WebhookEndpointID(unchecked: "we_bench"),
                                               event: EventID(unchecked: "evt_bench"), eventType: EventType.authorizationApproved.rawValue,
                                               redelivery: false, createdAt: now)
                let claimed = ClaimedWebhookDelivery(tenant: TenantID(unchecked: "ten_bench"), delivery: delivery, claim: "bench", hold: .row,
                                                     url: "http://127.0.0.1:\(port)/hooks/ceiling\(endpoint)", secrets: [secret], body: body,
                                                     eventCreatedAt: now, claimedAt: now)
                for _ in 0..<perEndpoint {
                    group.addTask {
                        var count = 0
                        while clock.now - started < .seconds(10) {
                            _ = await sender.send(claimed)
                            count += 1
                        }
                        return count
                    }
                }
            }
            for await count in group { sent.withLock { $0 += count } }
        }
        let elapsed = (clock.now - started).seconds
        let sends = sent.withLock { $0 }
        var line = "sends alone: \(Int(Double(sends) / elapsed))/s to 10 endpoints, \(perEndpoint) at a time each, no database"
        if let cpuBefore, let cpuAfter = BenchProcess.cpuSeconds(getpid()), sends > 0 {
            line += String(format: ", %.0f µs of CPU per send with its receipt (sender and receiver in one process)",
                           (cpuAfter - cpuBefore) / Double(sends) * 1e6)
        }
        print(line)
    }

    /// What the worker does to each delivery's body, alone: authorization events are stored as
    /// facts (no body), so each is read with its decision, decided again and encoded.
    /// Answers one rendered body.
    private func measureRendering(tenant: TenantID) async throws -> [UInt8]? {
        let (events, elapsed, sample) = try await withStore(try database.url()) { store in
            var rendered = 0
            var after: String?
            var sample: [UInt8]?
            let clock = ContinuousClock()
            let started = clock.now
            while rendered < 20_000 {
                let request = PageRequest(limit: 100, startingAfter: after)
                let page = try await store.read(tenant: tenant) { try await $0.events.list(request, type: .authorizationApproved) }
                for event in page.data { sample = event.serialized }
                rendered += page.data.count
                after = page.data.last?.id.rawValue
                if !page.hasMore { break }
            }
            return (rendered, clock.now - started, sample)
        }
        guard events > 0 else { return nil }
        print("event bodies: \(events) authorization.approved events read and rendered from the stored decisions in \(String(format: "%.0f", elapsed.seconds / Double(events) * 1e6)) µs each (one task)")
        return sample
    }

    /// One load phase and the drain after it; answers the authorization rate it reached.
    private func phase(_ title: String, load: LoadShape, tag: String, receiver: WebhookBenchReceiver, api: BenchAPI,
                       endpoints: [String]) async throws -> Double {
        let cpuBefore = serverPid.flatMap(BenchProcess.cpuSeconds)
        let started = Date().timeIntervalSince1970
        receiver.reset()
        let result = try await load.drive(for: .seconds(duration), tag: tag)
        let stopped = Date().timeIntervalSince1970
        let cpuAfter = serverPid.flatMap(BenchProcess.cpuSeconds)
        let answered = Int(result.latencies.totalCount)
        let backlog = try await api.backlog(endpoints)
        try await api.drained(endpoints)
        let drained = Date().timeIntervalSince1970
        let arrivals = receiver.arrivals()
        let window = stopped - started
        let authorizations = Double(answered) / window
        var lines = ["\(title)", "  authorizations    \(Int(authorizations))/s over \(String(format: "%.1f", window)) s (\(result.errors) errors)"]
        let good = arrivals.filter { $0.endpoint != "failing" }
        let byEndpoint = Dictionary(grouping: good.filter { $0.arrived <= stopped }, by: \.endpoint).mapValues { Double($0.count) / window }
        let rates = byEndpoint.values.sorted()
        if let slowest = rates.first, let fastest = rates.last {
            lines.append("  deliveries        \(Int(slowest))–\(Int(fastest))/s per endpoint during the load, \(Int(rates.reduce(0, +)))/s in all")
        }
        lines.append("  backlog at stop   \(backlog) deliveries, drained \(String(format: "%.2f", drained - stopped)) s later")
        let lags = good.filter { $0.created >= started && $0.created <= stopped }.map { ($0.arrived - $0.created) * 1000 }.sorted()
        if !lags.isEmpty {
            func percentile(_ p: Double) -> String { String(format: "%.0f", lags[min(lags.count - 1, Int(Double(lags.count) * p))]) }
            lines.append("  lag (ms)          p50 \(percentile(0.5))  p90 \(percentile(0.9))  p99 \(percentile(0.99))  max \(percentile(1))")
        }
        let failed = arrivals.count - good.count
        if failed > 0 { lines.append("  failing endpoint  \(failed) attempts answered 500") }
        if let cpuBefore, let cpuAfter, answered > 0 {
            let perAuthorization = (cpuAfter - cpuBefore) / Double(answered) * 1e6
            lines.append("  server CPU        \(String(format: "%.0f", perAuthorization)) µs per authorization with its deliveries")
        }
        print(lines.joined(separator: "\n"))
        return authorizations
    }
}

/// The admin calls the bench makes: endpoints, and their backlog as `/metrics` reports it.
struct BenchAPI: Sendable {
    let base: String
    let key: String

    func createEndpoint(url: String) async throws -> String {
        let answer = try await call("POST", "/webhook-endpoints", body: #"{"url": "\#(url)", "event_types": ["authorization.*"]}"#)
        guard let id = (try JSONSerialization.jsonObject(with: Data(answer)) as? [String: Any])?["id"] as? String else {
            throw ValidationError("creating a webhook endpoint answered \(String(decoding: answer, as: UTF8.self))")
        }
        return id
    }

    func deleteEndpoint(_ id: String) async throws { _ = try await call("DELETE", "/webhook-endpoints/\(id)") }

    /// The deliveries of these endpoints not finished yet.
    func backlog(_ endpoints: [String]) async throws -> Int {
        let metrics = String(decoding: try await call("GET", "/metrics"), as: UTF8.self)
        var total = 0
        for line in metrics.split(separator: "\n") where line.hasPrefix("zentra_webhook_backlog_deliveries{") {
            guard let id = line.split(separator: "\"").dropFirst().first, endpoints.contains(String(id)),
                let value = line.split(separator: " ").last.flatMap({ Double($0) }) else { continue }
            total += Int(value)
        }
        return total
    }

    /// Returns once these endpoints have nothing left to deliver (at most ten minutes).
    func drained(_ endpoints: [String]) async throws {
        let deadline = ContinuousClock.now + .seconds(600)
        // Counting a backlog reads every pending row: asked more often, it slows the server it measures.
        while try await backlog(endpoints) > 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(250)) }
    }

    private func call(_ method: String, _ path: String, body: String? = nil) async throws -> [UInt8] {
        var request = HTTPClientRequest(url: base + path)
        request.method = .init(rawValue: method)
        request.headers.add(name: "Authorization", value: "Bearer \(key)")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 16 << 20)
        guard (200..<300).contains(response.status.code) else {
            throw ValidationError("\(method) \(path) answered \(response.status.code): \(String(buffer: bytes))")
        }
        return Array(bytes.readableBytesView)
    }
}

/// The loopback receiver: answers 204 about 1 ms after a delivery arrives (500 on `/hooks/failing`)
/// and notes when each arrived and when its event was created. Plain SwiftNIO with its HTTP/1.1
/// server codec, each answer scheduled on its connection's event loop: the receiver shares the
/// two cores with the server it measures, and one on Hummingbird (a task and a router per
/// request) took about 65 µs of CPU per delivery, most of a core at the rates measured, where a
/// real receiver runs on machines of its own.
final class WebhookBenchReceiver: Sendable {
    struct Arrival: Sendable {
        let endpoint: String
        /// Seconds since the epoch.
        let arrived: Double
        let created: Double
    }

    private let received = Mutex<[Arrival]>([])

    func reset() { received.withLock { $0.removeAll(keepingCapacity: true) } }
    func arrivals() -> [Arrival] { received.withLock { $0 } }

    /// Starts listening on a free loopback port, for as long as the process runs, and answers it.
    func start() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Answering(receiver: self))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        guard let port = channel.localAddress?.port else { throw ValidationError("the receiver did not start") }
        return port
    }

    fileprivate func arrived(endpoint: String, body: ByteBuffer) {
        let arrived = Date().timeIntervalSince1970
        guard let created = Self.createdAt(Array(body.readableBytesView)) else { return }
        received.withLock { $0.append(Arrival(endpoint: endpoint, arrived: arrived, created: created)) }
    }

    /// One connection: each request is noted when it has all arrived, and answered 1 ms later.
    private final class Answering: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let receiver: WebhookBenchReceiver
        private var endpoint = ""
        private var keepAlive = true
        private var body = ByteBuffer()

        init(receiver: WebhookBenchReceiver) { self.receiver = receiver }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                endpoint = head.uri.split(separator: "/").last.map(String.init) ?? ""
                keepAlive = head.isKeepAlive
                body.clear()
            case .body(var part):
                body.writeBuffer(&part)
            case .end:
                receiver.arrived(endpoint: endpoint, body: body)
                let keepAlive = keepAlive
                let head = HTTPResponseHead(version: .http1_1, status: endpoint == "failing" ? .internalServerError : .noContent,
                                            headers: keepAlive ? [:] : ["Connection": "close"])
                let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                context.eventLoop.scheduleTask(in: .milliseconds(1)) {
                    let (handler, context) = bound.value
                    context.write(handler.wrapOutboundOut(.head(head)), promise: nil)
                    context.writeAndFlush(handler.wrapOutboundOut(.end(nil)), promise: nil)
                    if !keepAlive { context.close(promise: nil) }
                }
            }
        }
    }

    /// The event's `created_at`: the first one in its body (the event's own precedes its object's).
    static func createdAt(_ body: [UInt8]) -> Double? {
        let key = Array(#""created_at":""#.utf8)
        guard body.count > key.count, let start = (0...(body.count - key.count)).first(where: { body[$0..<$0 + key.count].elementsEqual(key) })
        else { return nil }
        let from = start + key.count
        guard let end = body[from...].firstIndex(of: UInt8(ascii: "\"")),
            let stamp = Timestamp(rfc3339: String(decoding: body[from..<end], as: UTF8.self)) else { return nil }
        return Double(stamp.microseconds) / 1_000_000
    }
}

/// A process's CPU time, user and system, from `/proc/<pid>/stat`.
enum BenchProcess {
    static func cpuSeconds(_ pid: Int32) -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")") else { return nil }
        // After the command's closing parenthesis: field 3 onwards; utime and stime are fields 14 and 15.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
