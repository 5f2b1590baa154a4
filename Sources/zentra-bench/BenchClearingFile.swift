import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import ZentraApp
import ZentraCommandLine
import ZentraCore
import ZentraStorage

/// `zentra-bench clearing-file`: one large CSV clearing file streamed to a running server. Makes the
/// cards and some authorizations in the server's database, then generates the file on the fly (it
/// never exists whole anywhere) and prints records per second and the run's counts.
struct BenchClearingFile: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clearing-file", abstract: "Stream one large clearing file to a running `zentra serve`.")

    @OptionGroup var database: DatabaseOption
    @Option(help: "The running server.") var url = "http://127.0.0.1:8080"
    @Option(help: "Records in the file.") var records = 1_000_000
    @Option(help: "Records that clear an authorization made beforehand (by network reference); the rest are force posts.")
    var authorized = 10_000
    @Option(help: "Cards the records spread over.") var cards = 1_000
    @Option(help: "Which line results the server answers: all, exceptions or none.") var lines = "none"
    @OptionGroup var cardDataKey: CardDataKeyOption

    func validate() throws {
        guard (1...100_000_000).contains(records), (0...records).contains(authorized), (1...100_000).contains(cards) else {
            throw ValidationError("records 1...100000000, authorized 0...records, cards 1...100000")
        }
    }

    func run() async throws {
        let key = try cardDataKey.load()
        let (cardCount, authorizedCount) = (cards, authorized)
        let setupStart = ContinuousClock.now
        let (networkKey, cardIDs, references) = try await withStore(try database.url()) { store in
            let made = try await BenchFixtures.fundedCards(cardCount, store: store, vault: CardVault(key: key))
            let (tenant, networkKey, cardIDs) = (TenantID(unchecked: made.tenant), made.networkKey, made.cards)
            let references = try await Self.authorize(authorizedCount, cards: cardIDs, tenant: tenant, store: store, vault: CardVault(key: key))
            return (networkKey, cardIDs, references)
        }
        print("setup: \(cardCount) funded cards, \(authorizedCount) authorizations in \(String(format: "%.1f", (ContinuousClock.now - setupStart).seconds)) s")

        let total = records
        let chunks = GeneratedFile(records: total, cards: cardIDs, references: references)
        var request = HTTPClientRequest(url: "\(url)/clearing-files?file_id=bench-\(UUID().uuidString)&lines=\(lines)")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(networkKey)")
        request.headers.add(name: "Content-Type", value: "text/csv")
        request.body = .stream(chunks, length: .unknown)
        let started = ContinuousClock.now
        let response = try await HTTPClient.shared.execute(request, timeout: .hours(4))
        let answer = try await response.body.collect(upTo: 1 << 30)
        let elapsed = (ContinuousClock.now - started).seconds
        guard response.status == .ok else {
            print("status \(response.status.code): \(String(buffer: answer))")
            throw ExitCode.failure
        }
        let summary = (try? JSONSerialization.jsonObject(with: Data(answer.readableBytesView))) as? [String: Any]
        print("""
            zentra-bench clearing-file  \(url)  records=\(total) (authorized \(authorizedCount), force posts \(total - authorizedCount)) cards=\(cardCount)
              ingested in \(String(format: "%.1f", elapsed)) s = \(String(format: "%.0f", Double(total) / elapsed)) records/s
              counts: \(summary?["counts"].map { "\($0)" } ?? "?")  answer: \(answer.readableBytes) bytes
            """)
    }

    /// `count` approved authorizations of 100 over the cards, through the use case (group commit).
    static func authorize(_ count: Int, cards: [String], tenant: TenantID, store: Store, vault: CardVault) async throws -> [(String, String)] {
        let scope = WriteScope(tenant: tenant, actor: "bench", requestID: nil)
        let authorizer = Authorizer(store: store, vault: vault, decider: NoCustomerDecider())
        var made: [(String, String)] = []
        for start in stride(from: 0, to: count, by: 256) {
            made += try await withThrowingTaskGroup(of: (String, String).self) { group in
                for index in start..<min(start + 256, count) {
                    group.addTask {
                        let card = cards[index % cards.count]
                        let reference = "bench-auth-\(index)"
                        let input = try AuthorizeInput(json: try JSONValue.parse(Array(#"""
                            {"card": "\#(card)", "amount_minor": 100, "currency": "USD", "channel": "online",
                             "merchant": {"id": "m_bench", "name": "Bench Store", "mcc": "5411", "country": "US"}, "network_reference": "\#(reference)"}
                            """#.utf8)))
                        let request = try AuthorizationRequest(input, receivedAt: store.clock.now())
                        _ = try await authorizer.authorize(request, scope: scope, keyID: nil)
                        return (card, reference)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
        }
        return made
    }
}

/// The bench's program has no decisioning webhook: nothing is ever asked.
struct NoCustomerDecider: CustomerDecider {
    func decide(_ request: CustomerDecisionRequest) async -> CustomerDecision {
        CustomerDecision(decision: request.fallback, source: .fallback, latencyMs: 0, failure: "no_decider")
    }
}

/// The bench file, generated a chunk at a time as the upload asks for it.
struct GeneratedFile: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let records: Int
    let cards: [String]
    let references: [(String, String)]

    struct AsyncIterator: AsyncIteratorProtocol {
        let file: GeneratedFile
        var index = -1

        mutating func next() async -> ByteBuffer? {
            guard index < file.records else { return nil }
            var text = ""
            if index < 0 {
                text = "clearing_id,authorization,network_reference,card,amount_minor,currency,merchant_id,merchant_name,mcc,country\n"
                index = 0
            }
            while index < file.records && text.utf8.count < 32 * 1024 {
                if index < file.references.count {
                    let (card, reference) = file.references[index]
                    text += "bench-\(index),,\(reference),\(card),100,USD,m_bench,Bench Store,5411,US\n"
                } else {
                    text += "bench-\(index),,,\(file.cards[index % file.cards.count]),\(1 + index % 500),USD,m_bench,Bench Store,5411,US\n"
                }
                index += 1
            }
            return ByteBuffer(string: text)
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(file: self) }
}
