import ZentraCore
import ZentraStorage

public struct SettlementInput: Sendable, Decodable {
    public var currency: String
}

/// Settlement batches: per currency, everything cleared (net of chargebacks won) and not settled
/// yet moves from Settlement to Merchant in one entry, and the payout is closed with it.
public enum SettlementService {
    public static func close(_ input: SettlementInput, in tx: WriteTransaction) async throws -> Settlement {
        let currency = try Validate.currency(input.currency)
        // The settlement account is locked first: every clearing and chargeback posts to it, so
        // none can commit between the sum below and this batch's entry.
        guard let settlementAccount = try await tx.ledger.existingSystemAccount(.settlement, currency: currency) else { throw nothingToSettle(currency) }
        let balance = try await tx.ledger.lockedBalance(settlementAccount)
        let totals = try await tx.settlements.unsettledTotals(currency: currency)
        guard totals.clearingCount + totals.disputeCount > 0 else { throw nothingToSettle(currency) }
        let net = try MinorUnits.subtract(totals.clearingsMinor, totals.chargebacksMinor)
        guard net == balance else {
            throw DomainError.invariantViolated("settlement account \(settlementAccount) holds \(balance) but unsettled records net \(net)")
        }
        let id: SettlementID = tx.newID()
        var entry: JournalEntry?
        if net != 0 {
            entry = try await tx.ledger.post(LedgerRecipes.settlement(
                net: Money(minor: net, currency: currency), settlement: settlementAccount,
                merchant: try await tx.ledger.systemAccount(.merchant, currency: currency), batch: id.rawValue), intent: nil)
        }
        try await tx.settlements.markSettled(currency: currency, by: id)
        let settlement = Settlement(
            id: id, currency: currency, clearingsMinor: totals.clearingsMinor, chargebacksMinor: totals.chargebacksMinor, netMinor: net,
            clearingCount: totals.clearingCount, disputeCount: totals.disputeCount, journalEntry: entry?.id,
            payout: Settlement.Payout(status: .closed, amountMinor: net, closedAt: tx.now), createdAt: tx.now)
        try await tx.settlements.insert(settlement)
        try tx.emit(.settlementClosed, objectType: .settlement, objectID: id.rawValue, data: settlement)
        tx.audit(.event(.settlementClosed), objectType: .settlement, objectID: id.rawValue, context: .object([
            "currency": .string(currency.code), "net_minor": .int(net), "clearing_count": .int(totals.clearingCount),
            "dispute_count": .int(totals.disputeCount), "journal_entry": entry.map { .string($0.id.rawValue) } ?? .null,
        ]))
        return settlement
    }

    static func nothingToSettle(_ currency: Currency) -> DomainError {
        DomainError(.conflict, code: "nothing_to_settle", message: "No cleared records or chargebacks in \(currency.code) wait for settlement.",
                    param: "currency")
    }
}

/// A settlement batch with everything it covered.
public struct SettlementDetail: Sendable, Encodable {
    public let settlement: Settlement
    public let clearings: [Clearing]
    public let disputes: [Dispute]

    public static func load(_ id: SettlementID, scope: some TenantScope) async throws -> SettlementDetail {
        guard let settlement = try await scope.settlements.find(id) else { throw DomainError.resourceMissing("settlement", id: id.rawValue) }
        return SettlementDetail(settlement: settlement, clearings: try await scope.clearings.all(settlement: id),
                                disputes: try await scope.disputes.all(settlement: id))
    }

    enum CodingKeys: String, CodingKey { case clearings, disputes }

    /// The settlement's own fields, then what it covered.
    public func encode(to encoder: any Encoder) throws {
        try settlement.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(clearings, forKey: .clearings)
        try container.encode(disputes, forKey: .disputes)
    }
}
