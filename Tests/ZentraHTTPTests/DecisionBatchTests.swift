import Foundation
import HummingbirdTesting
import Logging
import Testing
import ZentraApp
import ZentraCore
@testable import ZentraHTTP
@testable import ZentraStorage
import ZentraTestSupport

/// Decisions are made set-based, many requests to a transaction (`AuthorizationBatch`): what one
/// request of a batch does must never leak into another's answer.
@Suite struct DecisionBatchTests {
    /// Requests that arrive together are decided in one batch; the same network reference sent
    /// several times at once is decided once, and every copy answers that decision.
    @Test(arguments: Backend.allCases)
    func aReferenceSentSeveralTimesAtOnceIsDecidedOnce(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let f = try await AuthorizationFixture.make(env, fund: 100_000)
            let references = (0..<10).map { "same-\($0)" }
            let replies = try await withThrowingTaskGroup(of: (String, TestReply).self) { group in
                for reference in references + references + references {
                    group.addTask { (reference, try await f.authorize(100, reference: reference)) }
                }
                return try await group.reduce(into: [(String, TestReply)]()) { $0.append($1) }
            }
            for reference in references {
                let answers = replies.filter { $0.0 == reference }.map(\.1)
                #expect(Set(answers.map(\.id)).count == 1, "one decision for \(reference)")
                #expect(answers.allSatisfy { $0.status == .created }, "\(answers.map(\.status))")
                let replayed = answers.filter { $0.headers[.init("Idempotent-Replayed")!] == "true" }
                #expect(replayed.count == 2, "the first decides, the two others replay it")
            }
            let rows = try await env.store.engine.withReader { try await $0.queryOne("SELECT COUNT(*) AS n FROM authorizations")!.int("n") }
            #expect(rows == 10)
            #expect(try await f.held() == 1_000)
            #expect(try await env.get("/events?type=authorization.approved&limit=100").list.count == 10)
            #expect(try await f.trialBalanced())
        }
    }

    /// A request for a card that does not exist fails alone; the others of its batch are decided.
    @Test(arguments: Backend.allCases)
    func aMissingCardFailsAloneInItsBatch(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let f = try await AuthorizationFixture.make(env, fund: 100_000)
            let missing = AuthorizationFixture(env: env, card: "card_0000000000000000000000", account: f.account, network: f.network,
                                               operatorKey: f.operatorKey, programSecret: nil)
            let replies = try await withThrowingTaskGroup(of: (Bool, TestReply).self) { group in
                for index in 0..<20 {
                    group.addTask { index % 4 == 0 ? (false, try await missing.authorize(100)) : (true, try await f.authorize(100)) }
                }
                return try await group.reduce(into: [(Bool, TestReply)]()) { $0.append($1) }
            }
            for (real, reply) in replies {
                if real {
                    #expect(reply.status == .created && reply.status_ == "approved", "\(reply.text)")
                } else {
                    #expect(reply.status == .notFound && reply.errorCode == "resource_missing" && reply.errorParam == "card", "\(reply.text)")
                }
            }
            #expect(try await f.held() == 1_500)
        }
    }

    /// A network key is looked up once per process for decisions, and checked again inside each
    /// batch's transaction: once revoked, it decides nothing more, cached or not.
    @Test(arguments: Backend.allCases)
    func aRevokedNetworkKeyDecidesNothingMore(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let f = try await AuthorizationFixture.make(env, fund: 10_000)
            #expect(try await f.authorize(100).status == .created)
            let keyID = try #require(try await env.get("/api-keys").list.first { $0["role"] as? String == "network" }?["id"] as? String)
            #expect(try await env.request(.delete, "/api-keys/\(keyID)").status == .ok)
            let before = try await env.footprint()
            let refused = try await f.authorize(100)
            #expect(refused.status == .unauthorized && refused.errorCode == "unauthenticated", "\(refused.text)")
            #expect(try await env.footprint() == before)
            #expect(try await f.authorize(100).status == .unauthorized)
        }
    }

    /// On PostgreSQL a batch of one tenant runs without a transaction: its read locks nothing, and
    /// its one write statement commits alone. When another decision takes a hold on the card
    /// between the two, the write finds the card's state changed: it fails as a lost race (and the
    /// batch runs again, in a transaction) and writes nothing, so no hold is taken on a balance
    /// that is no longer there and the audit chain has no gap.
    @Test func aCardChangedBetweenReadAndWriteIsNotWrittenOver() async throws {
        try await TestEnvironment.run(.postgres) { env in
            let f = try await AuthorizationFixture.make(env, fund: 10_000)
            let input = try AuthorizeInput(json: try JSONValue.parse(Array(#"""
                {"card": "\#(f.card)", "amount_minor": 9000, "currency": "USD", "channel": "online",
                 "merchant": {"id": "m_1", "name": "Corner Shop", "mcc": "5411", "country": "US", "city": "Berlin"},
                 "network_reference": "raced"}
                """#.utf8)))
            let item = DecisionItem(request: try AuthorizationRequest(input, receivedAt: env.store.clock.now()),
                                    scope: WriteScope(tenant: env.tenant, actor: "test", requestID: nil), keyID: nil)
            let store = env.store
            let vault = CardVault(key: env.services.configuration.cardDataKey)
            let interfered: (any Error)? = try await store.engine.withReader { sql in
                let meanwhile = Meanwhile(base: sql) {
                    let first = try await f.authorize(9000, reference: "first")
                    #expect(first.status_ == "approved", "\(first.text)")
                }
                do {
                    _ = try await AuthorizationBatch(vault: vault)
                        .run([item], in: BatchTransaction(sql: meanwhile, ids: store.ids, now: store.clock.now(), locksRows: false,
                                                          memory: DecisionMemory()))
                    return nil
                } catch {
                    return error
                }
            }
            guard case StoreError.retryable = try #require(interfered) else { Issue.record("\(String(describing: interfered))"); return }
            #expect(try await f.held() == 9000)
            let references = try await store.engine.withReader { try await $0.query("SELECT network_reference FROM authorizations") }
            #expect(try references.map { try $0.string("network_reference") } == ["first"])
            #expect(try await env.get("/audit-log/verify").json["valid"] as? Bool == true)
            #expect(try await f.trialBalanced())
            // Through the engine, the same request runs again in a transaction and declines.
            let again = try await f.authorize(9000, reference: "raced")
            #expect(again.status_ == "declined" && again.json["decline_reason"] as? String == "insufficient_funds", "\(again.text)")
        }
    }

    /// On PostgreSQL a batch whose cards this process decided on before reads nothing: it decides
    /// from what the process remembers (`DecisionMemory`) and sends its one write. What it
    /// remembers is checked by that write: once another process has changed the card, the write
    /// fails as a lost race and writes nothing, and the batch runs again, reading.
    @Test func aBatchOnRememberedCardsIsOneStatementAndChecksWhatItRemembers() async throws {
        try await TestEnvironment.run(.postgres) { env in
            let f = try await AuthorizationFixture.make(env, fund: 10_000)
            let store = env.store
            let batch = AuthorizationBatch(vault: CardVault(key: env.services.configuration.cardDataKey))
            let memory = DecisionMemory()
            func decide(_ amount: Int64, _ reference: String) async throws -> (answer: DecisionAnswer?, statements: [String]) {
                let input = try AuthorizeInput(json: try JSONValue.parse(Array(#"""
                    {"card": "\#(f.card)", "amount_minor": \#(amount), "currency": "USD", "channel": "online",
                     "merchant": {"id": "m_1", "name": "Corner Shop", "mcc": "5411", "country": "US", "city": "Berlin"},
                     "network_reference": "\#(reference)"}
                    """#.utf8)))
                let item = DecisionItem(request: try AuthorizationRequest(input, receivedAt: store.clock.now()),
                                        scope: WriteScope(tenant: env.tenant, actor: "test", requestID: nil), keyID: nil)
                return try await store.engine.withReader { sql in
                    let recorder = Recorder(base: sql)
                    let outcomes = try await batch.run([item], in: BatchTransaction(sql: recorder, ids: store.ids, now: store.clock.now(),
                                                                                     locksRows: false, memory: memory))
                    guard case .answer(let answer) = outcomes.first else { return (nil, recorder.statements) }
                    return (answer, recorder.statements)
                }
            }
            func approved(_ answer: DecisionAnswer?) -> Bool {
                if case .decided(.created(let authorization)) = answer { return authorization.status == .approved }
                return false
            }
            let first = try await decide(1_000, "first")
            #expect(approved(first.answer))
            #expect(first.statements.count > 1 && first.statements.last?.contains("zentra_assert") == true,
                    "a card not remembered is read (with its program, the first time), then written: \(first.statements.count)")
            let second = try await decide(1_000, "second")
            #expect(approved(second.answer))
            #expect(second.statements.count == 1 && second.statements[0].contains("zentra_assert"), "remembered: only the write")
            #expect(try await f.held() == 2_000)
            // Another process (the application's own store, with a memory of its own) spends the card.
            #expect(try await f.authorize(7_000, reference: "elsewhere").status_ == "approved")
            let before = try await env.footprint()
            await #expect(throws: StoreError.self, "the remembered state is gone: a lost race") { try await decide(1_000, "stale") }
            #expect(try await env.footprint() == before, "and nothing of it was written")
            let references = try await store.engine.withReader { try await $0.query("SELECT network_reference FROM authorizations") }
            #expect(try Set(references.map { try $0.string("network_reference") }) == ["first", "second", "elsewhere"])
            #expect(try await f.held() == 9_000)
            #expect(try await env.get("/audit-log/verify").json["valid"] as? Bool == true)
        }
    }

    /// Whichever process decided last on a card, a decision sees the card as it is: another
    /// process's hold is not spent twice, and its funding turns a decline this process would have
    /// repeated from memory into an approval (a decline writes no state, so the write checks the
    /// card's state is still the one declined on).
    @Test(arguments: Backend.allCases)
    func aProcessSeesWhatAnotherProcessDidToACard(_ backend: Backend) async throws {
        try await Self.withSecondProcess(backend, fund: 10_000) { f, elsewhere in
            #expect(try await f.authorize(100).status_ == "approved")
            #expect(try await elsewhere.authorize(9_000).status_ == "approved")
            let over = try await f.authorize(5_000)
            #expect(over.status_ == "declined" && over.declineReason == "insufficient_funds", "\(over.text)")
            #expect(over.json["available_minor"] as? Int == 900, "\(over.text)")
            #expect(try await f.authorize(20_000).declineReason == "insufficient_funds")
            #expect(try await elsewhere.env.deposit(f.account, 30_000).status == .created)
            let funded = try await elsewhere.env.post("/cards/\(f.card)/fund", #"{"amount_minor": 30000, "transaction_reference": "\#(UUID())"}"#)
            #expect(funded.status == .created, "\(funded.text)")
            let approved = try await f.authorize(20_000)
            #expect(approved.status_ == "approved" && approved.json["available_minor"] as? Int == 10_900, "\(approved.text)")
            #expect(try await f.held() == 29_100)
            #expect(try await f.trialBalanced())
        }
    }

    /// Runs `body` with a funded card, as this process and as a second one on the same database
    /// (another `zentra serve`, with its own memory and caches) see it.
    static func withSecondProcess(_ backend: Backend, fund: Int64,
                                  _ body: @escaping @Sendable (_ here: AuthorizationFixture, _ elsewhere: AuthorizationFixture) async throws -> Void)
        async throws
    {
        let database = try await backend.makeDatabaseURL()
        try await TestEnvironment.run(database: database) { env in
            let f = try await AuthorizationFixture.make(env, fund: fund)
            var logger = Logger(label: "zentra-second-process")
            logger.logLevel = .error
            var configuration = AppConfiguration(database: database)
            configuration.databaseLeaseTimeout = .seconds(30)
            let second = try makeServices(configuration: configuration, logger: logger)
            let app = try buildApplication(services: second, logger: logger)
            try await app.test(.router) { client in
                let other = TestEnvironment(client: client, services: second, tenant: env.tenant, adminKey: env.adminKey)
                try await body(f, AuthorizationFixture(env: other, card: f.card, account: f.account, network: f.network,
                                                       operatorKey: f.operatorKey, programSecret: nil))
            }
        }
    }

    /// Two processes on one database deciding the same network references at once, on two cards
    /// (so neither waits for the other's card): each reference is decided once, by whichever
    /// commits first, and both processes answer that decision.
    @Test(arguments: Backend.allCases)
    func twoProcessesDecidingTheSameReferencesAgree(_ backend: Backend) async throws {
        try await Self.withSecondProcess(backend, fund: 100_000) { f, elsewhere in
            // The same requests through the other process: the network retried them there.
            let references = (0..<20).map { "both-\($0)" }
            let replies = try await withThrowingTaskGroup(of: (String, TestReply).self) { group in
                for reference in references {
                    group.addTask { (reference, try await f.authorize(100, reference: reference)) }
                    group.addTask { (reference, try await elsewhere.authorize(100, reference: reference)) }
                }
                return try await group.reduce(into: [(String, TestReply)]()) { $0.append($1) }
            }
            for reference in references {
                let answers = replies.filter { $0.0 == reference }.map(\.1)
                #expect(answers.allSatisfy { $0.status == .created }, "\(answers.map(\.text))")
                #expect(Set(answers.map(\.id)).count == 1, "\(reference) decided once: \(answers.map(\.id))")
            }
            let rows = try await f.env.store.engine.withReader { try await $0.queryOne("SELECT COUNT(*) AS n FROM authorizations")!.int("n") }
            #expect(rows == 20)
            #expect(try await f.held() == 2_000)
            #expect(try await f.trialBalanced())
        }
    }
}

/// The statements a batch sends, by their text.
private final class Recorder: SQLExecutor, @unchecked Sendable {
    let base: any SQLExecutor
    private(set) var statements: [String] = []

    init(base: any SQLExecutor) {
        self.base = base
    }

    var dialect: Dialect { base.dialect }

    func query(_ sql: SQL) async throws -> [SQLRow] {
        statements.append(sql.render(dialect).text)
        return try await base.query(sql)
    }

    func execute(_ sql: SQL) async throws { _ = try await query(sql) }

    func run(_ text: String, rows: [[SQLValue]]) async throws -> [SQLRow] {
        statements.append(text)
        return try await base.run(text, rows: rows)
    }
}

/// A statement executor that runs `meanwhile` once, just before the first statement that checks
/// what it writes (`zentra_assert`): another writer's work between a batch's read and its write.
private final class Meanwhile: SQLExecutor, @unchecked Sendable {
    let base: any SQLExecutor
    private var pending: (@Sendable () async throws -> Void)?

    init(base: any SQLExecutor, _ meanwhile: @escaping @Sendable () async throws -> Void) {
        self.base = base
        self.pending = meanwhile
    }

    var dialect: Dialect { base.dialect }

    func query(_ sql: SQL) async throws -> [SQLRow] {
        if let meanwhile = pending, sql.render(dialect).text.contains("zentra_assert") {
            pending = nil
            try await meanwhile()
        }
        return try await base.query(sql)
    }

    func execute(_ sql: SQL) async throws { _ = try await query(sql) }

    func run(_ text: String, rows: [[SQLValue]]) async throws -> [SQLRow] { try await base.run(text, rows: rows) }
}
