import ArgumentParser
import Foundation
import Histogram
import ZentraCore

/// `zentra-bench policy`: the pure policy core in process, on a realistic card (every limit set,
/// MCC and country lists, geofencing on a physical channel, two review rules).
struct BenchPolicy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "policy", abstract: "Policy evaluations per second, in process.")

    @Option(help: "Evaluations to time (after a warm-up of 10%).") var evaluations = 2_000_000

    func run() async throws {
        let usd = Currency(code: "USD")!
        let controls = SpendControls(
            perTransactionMinor: 50_000, dailyMinor: 100_000, weeklyMinor: 300_000, monthlyMinor: 1_000_000, lifetimeMinor: 50_000_000,
            allowedMccs: nil, blockedMccs: ["gambling", "adult"], allowedChannels: nil, blockedChannels: ["atm"],
            allowedCountries: ["US", "CA", "DE"])
        let card = CardPolicySnapshot(status: .active, expMonth: 11, expYear: 2029, currency: usd, controls: controls,
                                      geofenceEnabled: true, geofenceRadiusKm: 50)
        let now = Timestamp(rfc3339: "2026-11-23T12:00:00Z")!
        let mccs = ["5411", "5812", "7995", "4511"]
        let countries = ["US", "DE", "FR"]
        let channels: [Channel] = [.inStore, .online, .contactless]
        let reviewRules = [ReviewRule(type: "amount_over", amountMinor: 40_000), ReviewRule(type: "mcc", mccs: ["4511"])]
        var inputs: [PolicyInput] = []
        for index in 0..<1024 {
            let amount = Int64(100 + index * 37 % 60_000)
            let merchant = Merchant(id: "m", name: "Store", mcc: mccs[index % 4], country: countries[index % 3], lat: 52.52, lon: 13.405)
            let spend = SpendUsage(dailyMinor: Int64(index * 53 % 100_000), weeklyMinor: 150_000, monthlyMinor: 400_000, lifetimeMinor: 2_000_000)
            inputs.append(PolicyInput(
                card: card, amount: Money(minor: amount, currency: usd), transactionTotalMinor: amount, merchant: merchant,
                channel: channels[index % 3], deviceLocation: GeoPoint(lat: 52.39 + Double(index % 10), lon: 13.06), now: now, spend: spend,
                availableMinor: Int64(index * 97 % 80_000), reviewRules: reviewRules, reviewOutcome: .decline, webhookConfigured: false,
                customer: nil))
        }
        var checksum = 0
        for index in 0..<(evaluations / 10) { checksum &+= AuthorizationPolicy.evaluate(inputs[index & 1023]).rules.count }
        let started = ContinuousClock.now
        var approved = 0
        for index in 0..<evaluations {
            if AuthorizationPolicy.evaluate(inputs[index & 1023]).status == .approved { approved += 1 }
        }
        let elapsed = (ContinuousClock.now - started).seconds
        // Per-evaluation latency, sampled in batches of 1,000 (a clock read costs as much as an evaluation).
        var histogram = Histogram<UInt64>(numberOfSignificantValueDigits: .three)
        for batch in 0..<1_000 {
            let start = ContinuousClock.now
            for index in 0..<1_000 { checksum &+= AuthorizationPolicy.evaluate(inputs[(batch + index) & 1023]).rules.count }
            _ = histogram.record(UInt64(max(1, (ContinuousClock.now - start).microseconds)))
        }
        func ns(_ p: Double) -> String { String(format: "%.0f", Double(histogram.valueAtPercentile(p))) }
        print("""
            zentra-bench policy  evaluations=\(evaluations) (one thread)
              throughput: \(String(format: "%.0f", Double(evaluations) / elapsed)) evaluations/s (\(String(format: "%.0f", elapsed * 1e9 / Double(evaluations))) ns each), approved \(approved)
              latency per evaluation ns (batches of 1000): p50=\(ns(50)) p99=\(ns(99)) p99.9=\(ns(99.9))  [checksum \(checksum % 10)]
            """)
    }
}
