import ArgumentParser
import Foundation
import ZentraApp
import ZentraCommandLine
import ZentraCore
import ZentraStorage

/// `zentra-bench`: the benchmarks, kept out of the production binary (`bench/run` drives them).
@main
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "zentra-bench", abstract: "Benchmarks of a Zentra database and server.",
                                                    subcommands: [Deposits.self, BenchFixturesCommand.self, BenchAuthorizations.self, BenchPolicy.self, BenchClearingFile.self, BenchWebhooks.self])

    /// `zentra-bench deposits`: the money write path measured in-process, without HTTP, so the
    /// numbers are the unit of work's own (validation, ledger locks and postings, events, audit
    /// chain, intent, commit). Prints throughput and latency percentiles.

    struct Deposits: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Concurrent deposits through the unit of work.")

        @Option(help: "Database URL; default: a new SQLite file in a temporary folder.") var database: String?
        @Option(help: "Deposits to run (after a warm-up of 5%).") var requests = 5_000
        @Option(help: "Concurrent workers.") var concurrency = 16
        @Option(help: "Accounts the deposits spread over (fewer = more contention).") var accounts = 64

        func validate() throws {
            guard (1...1_000_000).contains(requests), (1...1_024).contains(concurrency), (1...10_000).contains(accounts) else {
                throw ValidationError("requests 1...1000000, concurrency 1...1024, accounts 1...10000")
            }
        }

        func run() async throws {
            let url = try DatabaseURL(database ?? "sqlite://" + FileManager.default.temporaryDirectory
                .appendingPathComponent("zentra-bench-\(UUID().uuidString).sqlite").path)
            let (requests, concurrency, accountCount) = (self.requests, self.concurrency, self.accounts)
            let report = try await withStore(url, creating: database == nil) { store in
                let (tenant, _) = try await TenantRepository.createTenant(name: "bench", store: store)
                let scope = WriteScope(tenant: tenant.id, actor: "bench", requestID: nil)
                let accounts = try await store.write(scope) { tx in
                    let customer = try await CustomerService.create(
                        CreateCustomer(name: "Bench", email: "bench@example.com", kycStatus: KYCStatus.verified.rawValue), in: tx)
                    var ids: [String] = []
                    for _ in 0..<accountCount {
                        ids.append(try await AccountService.create(
                            CreateAccount(customer: Reference(customer.id), currency: "USD", kind: "wallet"), in: tx).id.rawValue)
                    }
                    return ids
                }
                let warmup = max(1, requests / 20)
                _ = try await Self.drive(store: store, scope: scope, accounts: accounts, count: warmup, concurrency: concurrency, tag: "w")
                let clock = ContinuousClock()
                let start = clock.now
                let latencies = try await Self.drive(store: store, scope: scope, accounts: accounts, count: requests,
                                                     concurrency: concurrency, tag: "m")
                let elapsed = clock.now - start
                let balance = try await store.read(tenant: tenant.id) { try await $0.ledger.trialBalance() }
                return Report(url: url.description, requests: requests, concurrency: concurrency, accounts: accountCount,
                              elapsed: elapsed, latencies: latencies.sorted(), balanced: balance["USD"].map { $0.debits == $0.credits } ?? false)
            }
            print(report.text)
        }

        /// Runs `count` deposits on `concurrency` workers; returns each deposit's latency.
        static func drive(store: Store, scope: WriteScope, accounts: [String], count: Int, concurrency: Int, tag: String) async throws -> [Duration] {
            try await withThrowingTaskGroup(of: [Duration].self) { group in
                for worker in 0..<concurrency {
                    group.addTask {
                        var latencies: [Duration] = []
                        var index = worker
                        let clock = ContinuousClock()
                        while index < count {
                            let account = accounts[index % accounts.count]
                            let input = CreateDeposit(amountMinor: 100, transactionReference: "\(tag)-\(index)")
                            let start = clock.now
                            _ = try await store.write(scope) { tx in try await AccountService.deposit(into: AccountID(unchecked: account), input, in: tx) }
                            latencies.append(clock.now - start)
                            index += concurrency
                        }
                        return latencies
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
        }
    }

    struct Report: Sendable {
        let url: String
        let requests, concurrency, accounts: Int
        let elapsed: Duration
        let latencies: [Duration]
        let balanced: Bool

        var text: String {
            func ms(_ d: Duration) -> String {
                String(format: "%.2f", d.seconds * 1_000)
            }
            func percentile(_ p: Double) -> Duration { latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }
            let seconds = elapsed.seconds
            return """
                zentra-bench deposits  database=\(url)
                  requests=\(requests) concurrency=\(concurrency) accounts=\(accounts)
                  throughput: \(String(format: "%.0f", Double(requests) / seconds)) deposits/s over \(String(format: "%.2f", seconds)) s
                  latency ms: p50=\(ms(percentile(0.50))) p90=\(ms(percentile(0.90))) p99=\(ms(percentile(0.99))) max=\(ms(latencies.last!))
                  ledger balanced: \(balanced)
                """
        }
    }
}
