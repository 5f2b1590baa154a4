import ArgumentParser
import Foundation
import Histogram
import ZentraApp
import ZentraCommandLine
import ZentraCore
import ZentraStorage

/// `zentra-bench authorizations`: the authorization path over real HTTP. Creates a tenant with many
/// funded cards directly in the database the server uses, then drives `POST /authorizations` against
/// the running server from C keep-alive connections for a set time, closed loop (as fast as answers
/// come) or open loop at a fixed rate, and prints throughput and HdrHistogram latency percentiles.
/// The load comes from plain keep-alive sockets (`PlainHTTPConnection`), one thread per connection.
struct BenchAuthorizations: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "authorizations", abstract: "Authorizations over HTTP against a running `zentra serve`.")

    @OptionGroup var database: DatabaseOption
    @Option(help: "A running server, http://host:port; repeat for several (connections are spread over them).")
    var url: [String] = ["http://127.0.0.1:8080"]
    @Option(help: "Cards the authorizations spread over (made first, unless --fixtures names a file).") var cards = 10_000
    @Option(help: "A fixtures file written by `zentra-bench fixtures`: its cards and key are used, nothing is made.")
    var fixtures: String?
    @Option(help: "Concurrent keep-alive connections.") var concurrency = 32
    @Option(help: "Seconds to measure (after a warm-up of 2 s).") var duration = 20
    @Option(help: "Open loop: this many requests per second in all, latency from each request's scheduled time.")
    var rate: Int?
    @OptionGroup var cardDataKey: CardDataKeyOption

    func validate() throws {
        guard (1...1_000_000).contains(cards), (1...1_024).contains(concurrency), (1...3_600).contains(duration) else {
            throw ValidationError("cards 1...1000000, concurrency 1...1024, duration 1...3600")
        }
        if let rate, rate < 1 { throw ValidationError("rate must be positive") }
    }

    func run() async throws {
        let made: BenchFixtures.Made
        if let fixtures {
            made = try JSONDecoder().decode(BenchFixtures.Made.self, from: Data(contentsOf: URL(fileURLWithPath: fixtures)))
        } else {
            let key = try cardDataKey.load()
            let count = cards
            let setupStart = ContinuousClock.now
            made = try await withStore(try database.url()) { store in
                try await BenchFixtures.fundedCards(count, store: store, vault: CardVault(key: key))
            }
            print("setup: \(count) funded cards in \(String(format: "%.1f", (ContinuousClock.now - setupStart).seconds)) s")
        }
        let count = made.cards.count
        let load = LoadShape(urls: try url.map(LoadShape.baseURL), key: made.networkKey, cards: made.cards, concurrency: concurrency,
                             interval: rate.map { Duration.seconds(Double(concurrency) / Double($0)) })
        _ = try await load.drive(for: .seconds(2), tag: "w")
        let result = try await load.drive(for: .seconds(duration), tag: "m")
        let mode = rate.map { "open loop at \($0)/s" } ?? "closed loop"
        print(result.report(title: "zentra-bench authorizations  \(url.joined(separator: " "))  cards=\(count) connections=\(concurrency) \(mode)"))
    }
}

/// What one load run is: where to send, as whom, over which cards, how many at once, at what pace.
struct LoadShape: Sendable {
    let urls: [URL]
    let key: String
    let cards: [String]
    let concurrency: Int
    /// Open loop: each connection sends every `interval`; nil: closed loop.
    let interval: Duration?

    static func baseURL(_ text: String) throws -> URL {
        guard let url = URL(string: text), url.scheme == "http", url.host != nil else {
            throw ValidationError("--url must be http://host:port, not \(text)")
        }
        return url
    }

    /// Each connection runs on a thread of its own with a blocking socket (`PlainHTTPConnection`),
    /// so the load costs the shared cores as little as the kernel's share of it.
    func drive(for duration: Duration, tag: String) async throws -> LoadResult {
        let started = ContinuousClock.now
        let deadline = started + duration
        let partials = try await withThrowingTaskGroup(of: LoadResult.self) { group in
            for worker in 0..<concurrency {
                group.addTask { try await Self.onThread { try self.connection(worker, until: deadline, tag: tag) } }
            }
            return try await group.reduce(into: [LoadResult]()) { $0.append($1) }
        }
        var total = LoadResult()
        for partial in partials { total.merge(partial) }
        total.elapsed = ContinuousClock.now - started
        return total
    }

    private func connection(_ worker: Int, until deadline: ContinuousClock.Instant, tag: String) throws -> LoadResult {
        let url = urls[worker % urls.count]
        var connection = try PlainHTTPConnection(url: url)
        let headers = [("Authorization", "Bearer \(key)"), ("Content-Type", "application/json")]
        let approved = Array(#""status":"approved""#.utf8)
        var result = LoadResult()
        var sequence = 0
        var recent: [String] = []
        var generator = SystemRandomNumberGenerator()
        var scheduled = ContinuousClock.now + (interval.map { $0 * (Double(worker) / Double(concurrency)) } ?? .zero)
        while true {
            if interval != nil {
                if scheduled >= deadline { break }
                let wait = scheduled - ContinuousClock.now
                if wait > .zero { Thread.sleep(forTimeInterval: wait.seconds) }
            } else {
                scheduled = ContinuousClock.now
                if scheduled >= deadline { break }
            }
            sequence += 1
            let card = cards[Int.random(in: 0..<cards.count, using: &generator)]
            let body = BenchFixtures.request(card: card, reference: "\(tag)-\(worker)-\(sequence)-\(UInt32.random(in: 0...UInt32.max, using: &generator))",
                                             recent: &recent, using: &generator)
            do {
                let answer = try connection.post(path: "/authorizations", headers: headers, body: Array(body.utf8))
                result.record(status: answer.status, latency: ContinuousClock.now - scheduled,
                              approved: PlainHTTPConnection.find(approved, in: answer.body) != nil)
            } catch {
                result.errors += 1
                connection = try PlainHTTPConnection(url: url)
            }
            if let interval { scheduled += interval }
        }
        return result
    }

    /// Runs blocking work on a thread of its own, off the cooperative pool.
    private static func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try body() }) }.start()
        }
    }
}

/// Counts and an HdrHistogram of latencies in microseconds.
struct LoadResult: @unchecked Sendable {
    var latencies = Histogram<UInt64>(numberOfSignificantValueDigits: .three)
    var statuses: [Int: Int] = [:]
    var approved = 0
    var errors = 0
    var elapsed: Duration = .zero

    mutating func record(status: Int, latency: Duration, approved isApproved: Bool) {
        _ = latencies.record(UInt64(max(1, latency.microseconds)))
        statuses[status, default: 0] += 1
        if isApproved { approved += 1 }
    }

    mutating func merge(_ other: LoadResult) {
        latencies.add(other.latencies)
        statuses.merge(other.statuses, uniquingKeysWith: +)
        approved += other.approved
        errors += other.errors
    }

    func report(title: String) -> String {
        func ms(_ p: Double) -> String { String(format: "%.2f", Double(latencies.valueAtPercentile(p)) / 1000) }
        let seconds = elapsed.seconds
        let answered = Int(latencies.totalCount)
        return """
            \(title)
              answered: \(answered) in \(String(format: "%.1f", seconds)) s = \(String(format: "%.0f", Double(answered) / seconds)) authorizations/s
              statuses: \(statuses.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))  approved=\(approved)  transport errors=\(errors)
              latency ms: p50=\(ms(50)) p90=\(ms(90)) p99=\(ms(99)) p99.9=\(ms(99.9)) max=\(String(format: "%.2f", Double(latencies.max) / 1000))
            """
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
    var microseconds: Int64 { components.seconds * 1_000_000 + components.attoseconds / 1_000_000_000_000 }
}

/// Bench data written straight through the use cases: a tenant, a network key, one program (which
/// blocks gambling, so that the load's gambling merchants are declined), and funded cards, a
/// hundred per customer, made several customers at once; then, if asked, earlier decisions through
/// the same batched path the server decides with. Inputs are decoded from the JSON the API takes.
enum BenchFixtures {
    static let cardsPerCustomer = 100
    /// The load's mix, as `bench/authorizations.lua` sends it too: this share of requests
    /// is at a gambling merchant (declined), this share repeats a recent request.
    static let declinePercent = 7
    static let replayPercent = 1

    struct Made: Codable, Sendable {
        let tenant: String
        let networkKey: String
        /// An admin key of the tenant (`zentra-bench webhooks` registers endpoints with it).
        let adminKey: String
        let cards: [String]
        /// What a card network names each card by (`bench/run iso8583`): its PAN and its expiry,
        /// `YYMM`. Bench cards only, in the bench's own temporary folder.
        let networkCards: [NetworkCard]
    }

    struct NetworkCard: Codable, Sendable {
        let pan: String
        let expiry: String
    }

    static func input<T: Decodable>(_ json: String) throws -> T {
        try ZentraJSON.decoder().decode(T.self, from: Data(json.utf8))
    }

    /// One request of the load: a random amount at a grocer, or at a casino; or now and then a
    /// replay of one of the recent requests (`recent` keeps them), sent again as it was: a
    /// reference reused with another card or amount is refused (422 network_reference_reused).
    static func request(card: String, reference: String, recent: inout [String], using generator: inout some RandomNumberGenerator) -> String {
        let roll = Int.random(in: 0..<100, using: &generator)
        if roll < replayPercent, let earlier = recent.randomElement(using: &generator) { return earlier }
        let mcc = roll >= 100 - declinePercent ? "7995" : "5411"
        let body = #"{"card":"\#(card)","amount_minor":\#(Int.random(in: 1...500, using: &generator)),"currency":"USD","channel":"online","merchant":{"id":"m_bench","name":"Bench Store","mcc":"\#(mcc)","country":"US","city":"Austin"},"network_reference":"\#(reference)"}"#
        recent.append(body)
        if recent.count > 100 { recent.removeFirst() }
        return body
    }

    static func fundedCards(_ count: Int, store: Store, vault: CardVault) async throws -> Made {
        let (tenant, admin) = try await TenantRepository.createTenant(name: "bench", store: store)
        let scope = WriteScope(tenant: tenant.id, actor: "bench", requestID: nil)
        let networkKey = try await store.write(scope) { tx in try await tx.apiKeys.create(role: .network, name: "bench network").apiKey }
        let program = try await store.write(scope) { tx in
            try await CardProgramService.create(
                try input(#"{"name": "Bench", "currency": "USD", "bin": "499999", "max_cards_per_customer": \#(cardsPerCustomer), "spend_controls": {"blocked_mccs": ["gambling"]}}"#),
                urlPolicy: OutboundURLPolicy(), vault: vault, in: tx).program.id.rawValue
        }
        let customers = (count + cardsPerCustomer - 1) / cardsPerCustomer
        var cards: [(String, NetworkCard)] = []
        for start in stride(from: 0, to: customers, by: 8) {
            cards += try await withThrowingTaskGroup(of: [(String, NetworkCard)].self) { group in
                for customer in start..<min(start + 8, customers) {
                    let size = min(cardsPerCustomer, count - customer * cardsPerCustomer)
                    group.addTask { try await customerWithCards(size, program: program, scope: scope, store: store, vault: vault) }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
        }
        return Made(tenant: tenant.id.rawValue, networkKey: networkKey, adminKey: admin.apiKey, cards: cards.map(\.0), networkCards: cards.map(\.1))
    }

    static func customerWithCards(_ size: Int, program: String, scope: WriteScope, store: Store, vault: CardVault) async throws
        -> [(String, NetworkCard)]
    {
        try await store.write(scope) { tx in
            let person = try await CustomerService.create(
                try input(#"{"name": "Bench", "email": "bench@example.com", "kyc_status": "verified"}"#), in: tx)
            let account = try await AccountService.create(try input(#"{"customer": "\#(person.id)", "currency": "USD"}"#), in: tx)
            _ = try await AccountService.deposit(
                into: account.id, try input(#"{"amount_minor": 1000000000000, "transaction_reference": "bench-\#(person.id)"}"#), in: tx)
            var made: [(String, NetworkCard)] = []
            for _ in 0..<size {
                let card = try await CardService.issue(
                    try input(#"{"customer": "\#(person.id)", "account": "\#(account.id)", "program": "\#(program)", "type": "virtual"}"#),
                    vault: vault, in: tx)
                _ = try await CardFundingService.fund(
                    card.id, try input(#"{"amount_minor": 10000000000, "transaction_reference": "bench-\#(card.id)"}"#), in: tx)
                let sealed = try await tx.cards.sealedData(card.id)
                let pan = try vault.open(sealed ?? [], tenant: tx.tenant).pan
                made.append((card.id.rawValue, NetworkCard(pan: pan, expiry: String(format: "%02d%02d", card.expYear % 100, card.expMonth))))
            }
            return made
        }
    }

    /// `count` earlier decisions over the cards, through the batched path the server decides
    /// with, many in flight at once, in the load's mix.
    static func earlierDecisions(_ count: Int, made: Made, store: Store, vault: CardVault) async throws {
        let scope = WriteScope(tenant: TenantID(unchecked: made.tenant), actor: "bench", requestID: nil)
        let authorizer = Authorizer(store: store, vault: vault, decider: NoCustomerDecider())
        let inFlight = 512
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<inFlight {
                group.addTask {
                    var generator = SystemRandomNumberGenerator()
                    var recent: [String] = []
                    for index in stride(from: worker, to: count, by: inFlight) {
                        let card = made.cards[Int.random(in: 0..<made.cards.count, using: &generator)]
                        let body = request(card: card, reference: "earlier-\(index)", recent: &recent, using: &generator)
                        let decision = try AuthorizationRequest(try AuthorizeInput(json: try JSONValue.parse(Array(body.utf8))),
                                                                receivedAt: store.clock.now())
                        _ = try await authorizer.authorize(decision, scope: scope, keyID: nil)
                    }
                }
            }
            try await group.waitForAll()
        }
    }
}

/// `zentra-bench fixtures`: the bench's tenant, key and funded cards, and earlier decisions, made
/// once in a database before servers start; the file it writes is what the load generators read.
struct BenchFixturesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "fixtures", abstract: "Make the authorization bench's data.")

    @OptionGroup var database: DatabaseOption
    @Option(help: "Funded cards to make.") var cards = 100_000
    @Option(help: "Earlier decisions to make over them.") var earlier = 1_000_000
    @Option(help: "Where to write the fixtures (JSON: tenant, network key, cards).") var out: String
    @OptionGroup var cardDataKey: CardDataKeyOption

    func validate() throws {
        guard (1...10_000_000).contains(cards), (0...100_000_000).contains(earlier) else {
            throw ValidationError("cards 1...10000000, earlier 0...100000000")
        }
    }

    func run() async throws {
        let key = try cardDataKey.load()
        let (count, earlier) = (cards, self.earlier)
        let started = ContinuousClock.now
        let made = try await withStore(try database.url()) { store in
            let made = try await BenchFixtures.fundedCards(count, store: store, vault: CardVault(key: key))
            print("fixtures: \(count) funded cards in \(String(format: "%.0f", (ContinuousClock.now - started).seconds)) s")
            let decided = ContinuousClock.now
            try await BenchFixtures.earlierDecisions(earlier, made: made, store: store, vault: CardVault(key: key))
            print("fixtures: \(earlier) earlier decisions in \(String(format: "%.0f", (ContinuousClock.now - decided).seconds)) s")
            // Statistics, as a database that has run for a while has them. Without them the
            // server's prepared statements can keep plans made while the tables were nearly empty
            // until autovacuum first analyzes them, a minute or more into the load: a batch's
            // read of decided references then walked the tenant's authorizations.
            if store.engine.dialect == .postgres { try await store.engine.withReader { try await $0.execute("ANALYZE") } }
            return made
        }
        try JSONEncoder().encode(made).write(to: URL(fileURLWithPath: out))
    }
}
