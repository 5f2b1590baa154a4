/// Which side of a ledger account a line lands on.
public enum EntryDirection: String, Sendable, Codable, Hashable {
    case debit
    case credit
}

/// Whether an account grows with debits (assets) or with credits (liabilities: customer money).
public enum NormalBalance: String, Sendable, Codable, Hashable {
    case debit
    case credit

    /// Balance of an account from its totals, signed so that it is positive in its normal state.
    public func balance(debits: Int64, credits: Int64) throws(DomainError) -> Int64 {
        switch self {
        case .debit: try MinorUnits.subtract(debits, credits)
        case .credit: try MinorUnits.subtract(credits, debits)
        }
    }
}

/// What a ledger account is for. Customer money is split in `available` and `reserved` so that
/// an account's balances are read off the ledger rather than kept beside it.
public enum LedgerAccountPurpose: String, Sendable, Codable, Hashable, CaseIterable {
    /// Money a customer account can spend (liability).
    case customerAvailable = "customer_available"
    /// Money held by open authorizations (liability).
    case customerReserved = "customer_reserved"
    /// A card's spendable balance, funded from its customer's wallet (liability).
    case cardAvailable = "card_available"
    /// A card's money held by open authorizations (liability).
    case cardReserved = "card_reserved"
    /// Outside money that came in through deposits (asset: the bank account that holds it).
    case funding
    /// What is owed to the card network for cleared transactions (liability).
    case settlement
    /// What is owed to merchants after settlement (liability).
    case merchant
    /// Cleared spend the card's funds could not cover: owed by the cardholder (asset).
    case cardholderReceivable = "cardholder_receivable"
    /// Provisional credits given on open disputes: claimed back from the network (asset).
    case disputeReceivable = "dispute_receivable"

    public var normalBalance: NormalBalance {
        switch self {
        case .funding, .cardholderReceivable, .disputeReceivable: .debit
        case .customerAvailable, .customerReserved, .cardAvailable, .cardReserved, .settlement, .merchant: .credit
        }
    }

    /// System accounts exist once per tenant and currency; the others belong to one customer account.
    public var isSystem: Bool {
        switch self {
        case .funding, .settlement, .merchant, .cardholderReceivable, .disputeReceivable: true
        case .customerAvailable, .customerReserved, .cardAvailable, .cardReserved: false
        }
    }

    /// Customer money can never go below zero: a posting that would overdraw it is a bug, since
    /// every use case checks the balance under the row lock first.
    public var mayGoNegative: Bool { isSystem }

    /// A card's two accounts keep their totals on the card's state row, beside its spend counters.
    public var isCard: Bool { self == .cardAvailable || self == .cardReserved }
}

/// One line of a journal entry.
public struct Posting: Sendable, Hashable {
    public let account: LedgerAccountID
    public let direction: EntryDirection
    public let amount: Money

    public init(account: LedgerAccountID, direction: EntryDirection, amount: Money) {
        self.account = account
        self.direction = direction
        self.amount = amount
    }

    public static func debit(_ account: LedgerAccountID, _ amount: Money) -> Posting {
        Posting(account: account, direction: .debit, amount: amount)
    }

    public static func credit(_ account: LedgerAccountID, _ amount: Money) -> Posting {
        Posting(account: account, direction: .credit, amount: amount)
    }
}

/// A journal entry before it is written: immutable once posted, balanced per currency always.
public struct JournalEntryDraft: Sendable, Hashable {
    public let description: String
    public let postings: [Posting]

    /// Builds an entry and checks it: at least two lines, positive amounts, and for every currency
    /// the debits equal the credits. An unbalanced entry is a bug, so this throws an invariant error.
    public init(description: String, postings: [Posting]) throws(DomainError) {
        guard postings.count >= 2 else {
            throw DomainError.invariantViolated("a journal entry needs at least two postings")
        }
        var net: [Currency: Int64] = [:]
        for posting in postings {
            guard posting.amount.minor > 0 else {
                throw DomainError.invariantViolated("posting amounts must be positive")
            }
            let signed = posting.direction == .debit ? posting.amount.minor : -posting.amount.minor
            net[posting.amount.currency] = try MinorUnits.add(net[posting.amount.currency, default: 0], signed)
        }
        for (currency, difference) in net where difference != 0 {
            throw DomainError.invariantViolated("journal entry does not balance in \(currency.code) (off by \(difference))")
        }
        self.description = description
        self.postings = postings
    }

    /// The change this entry makes to one account's totals.
    public func totals(for account: LedgerAccountID) throws(DomainError) -> (debits: Int64, credits: Int64) {
        var debits: Int64 = 0
        var credits: Int64 = 0
        for posting in postings where posting.account == account {
            switch posting.direction {
            case .debit: debits = try MinorUnits.add(debits, posting.amount.minor)
            case .credit: credits = try MinorUnits.add(credits, posting.amount.minor)
            }
        }
        return (debits, credits)
    }
}

/// The ledger-side meaning of each money movement: the one place that knows which accounts a
/// deposit (and later a hold, a clearing, a settlement) debits and credits.
public enum LedgerRecipes {
    /// Outside money arrives: the funding asset grows, the customer's available money grows.
    public static func deposit(
        amount: Money, funding: LedgerAccountID, customerAvailable: LedgerAccountID, reference: String
    ) throws(DomainError) -> JournalEntryDraft {
        try JournalEntryDraft(
            description: "deposit \(reference)",
            postings: [.debit(funding, amount), .credit(customerAvailable, amount)])
    }

    /// A card is funded from its customer's wallet: the wallet's available money becomes the card's.
    public static func cardFunding(
        amount: Money, walletAvailable: LedgerAccountID, cardAvailable: LedgerAccountID, reference: String
    ) throws(DomainError) -> JournalEntryDraft {
        try JournalEntryDraft(
            description: "card funding \(reference)",
            postings: [.debit(walletAvailable, amount), .credit(cardAvailable, amount)])
    }

    /// An authorization holds card funds: they stay the customer's, but cannot be spent twice.
    public static func hold(amount: Money, cardAvailable: LedgerAccountID, cardReserved: LedgerAccountID, authorization: String) throws(DomainError) -> JournalEntryDraft {
        try JournalEntryDraft(description: "hold \(authorization)", postings: [.debit(cardAvailable, amount), .credit(cardReserved, amount)])
    }

    /// A hold, or part of it, is released (reversal, expiry, declined review).
    public static func release(amount: Money, cardAvailable: LedgerAccountID, cardReserved: LedgerAccountID, authorization: String,
                               why: String) throws(DomainError) -> JournalEntryDraft {
        try JournalEntryDraft(description: "\(why) \(authorization)", postings: [.debit(cardReserved, amount), .credit(cardAvailable, amount)])
    }

    /// A clearing, as `plan` splits it: the hold pays first, the rest of the hold goes back to the
    /// card, an over-clear is paid from the card's funds and then by the cardholder's receivable.
    public static func clearing(
        _ plan: ClearingPlan, currency: Currency, cardAvailable: LedgerAccountID, cardReserved: LedgerAccountID,
        settlement: LedgerAccountID, receivable: LedgerAccountID, clearing: String
    ) throws(DomainError) -> JournalEntryDraft {
        func money(_ minor: Int64) -> Money { Money(minor: minor, currency: currency) }
        var postings: [Posting] = [.credit(settlement, money(plan.clearedMinor))]
        if plan.heldMinor > 0 { postings.append(.debit(cardReserved, money(plan.heldMinor))) }
        if plan.releasedMinor > 0 { postings.append(.credit(cardAvailable, money(plan.releasedMinor))) }
        if plan.fromFundsMinor > 0 { postings.append(.debit(cardAvailable, money(plan.fromFundsMinor))) }
        if plan.shortfallMinor > 0 { postings.append(.debit(receivable, money(plan.shortfallMinor))) }
        return try JournalEntryDraft(description: "clearing \(clearing)", postings: postings)
    }

    /// A settlement batch: what is owed to the network for cleared records (net of chargebacks won)
    /// moves to the merchant side. A net of zero moves nothing and is no entry.
    public static func settlement(net: Money, settlement: LedgerAccountID, merchant: LedgerAccountID, batch: String) throws(DomainError) -> JournalEntryDraft {
        let amount = Money(minor: net.minor >= 0 ? net.minor : try MinorUnits.subtract(0, net.minor), currency: net.currency)
        return try JournalEntryDraft(
            description: "settlement \(batch)",
            postings: net.minor >= 0 ? [.debit(settlement, amount), .credit(merchant, amount)] : [.debit(merchant, amount), .credit(settlement, amount)])
    }

    /// A provisional credit on a dispute: the cardholder gets the money now; the issuer claims it
    /// back from the network.
    public static func provisionalCredit(amount: Money, disputeReceivable: LedgerAccountID, cardAvailable: LedgerAccountID, dispute: String) throws(DomainError) -> JournalEntryDraft {
        try JournalEntryDraft(description: "provisional credit \(dispute)", postings: [.debit(disputeReceivable, amount), .credit(cardAvailable, amount)])
    }

    /// A provisional credit taken back (dispute lost or withdrawn): from the card's funds as far as
    /// they go, the rest owed by the cardholder.
    public static func provisionalCreditReversal(
        amount: Money, fromFundsMinor: Int64, disputeReceivable: LedgerAccountID, cardAvailable: LedgerAccountID,
        cardholderReceivable: LedgerAccountID, dispute: String
    ) throws(DomainError) -> JournalEntryDraft {
        var postings: [Posting] = [.credit(disputeReceivable, amount)]
        if fromFundsMinor > 0 { postings.append(.debit(cardAvailable, Money(minor: fromFundsMinor, currency: amount.currency))) }
        if amount.minor > fromFundsMinor {
            postings.append(.debit(cardholderReceivable, Money(minor: amount.minor - fromFundsMinor, currency: amount.currency)))
        }
        return try JournalEntryDraft(description: "provisional credit reversed \(dispute)", postings: postings)
    }

    /// A dispute won: the network takes the amount back from what the issuer owes it (a
    /// chargeback). It settles the provisional credit's claim, or credits the cardholder now.
    public static func chargeback(amount: Money, settlement: LedgerAccountID, creditTo account: LedgerAccountID, dispute: String) throws(DomainError) -> JournalEntryDraft {
        try JournalEntryDraft(description: "chargeback \(dispute)", postings: [.debit(settlement, amount), .credit(account, amount)])
    }
}
