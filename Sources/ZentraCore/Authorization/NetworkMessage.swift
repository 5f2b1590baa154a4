/// Where a decision's request came from: `POST /authorizations`, or a card network's ISO 8583
/// message.
public enum AuthorizationSource: String, Sendable, Codable, Hashable {
    case api
    case iso8583
}

/// The fields of a card network's ISO 8583 message a decision used, as the network sent them
/// (the PAN never: the card is named by id and last four). Kept with the decision, shown in its
/// evidence.
public struct NetworkMessage: Sendable, Hashable, Codable {
    /// The message type: `0100`, or `0120` for an advice of a decision the network made in stand-in.
    public var mti: String
    /// Field 11, the system trace audit number.
    public var stan: String
    /// Field 37, the retrieval reference number.
    public var rrn: String
    /// Field 7, `MMDDhhmmss` in UTC.
    public var transmittedAt: String
    /// Field 32, the acquiring institution.
    public var acquirer: String
    /// Field 41, the terminal.
    public var terminal: String?
    /// Field 3, the processing code.
    public var processingCode: String?
    /// Field 22, the point-of-service entry mode, and field 25, the condition code.
    public var entryMode: String
    public var posCondition: String?
    /// Fields 4 and 49: the amount in the currency of the transaction.
    public var transactionAmountMinor: Int64
    public var transactionCurrency: String
    /// Fields 6 and 51: the amount in the card's currency, when the network converted it.
    public var billingAmountMinor: Int64?
    public var billingCurrency: String?
    /// An advice's field 39: what the network answered when it decided in stand-in.
    public var standInResponseCode: String?

    public init(mti: String, stan: String, rrn: String, transmittedAt: String, acquirer: String, terminal: String?, processingCode: String?,
                entryMode: String, posCondition: String?, transactionAmountMinor: Int64, transactionCurrency: String,
                billingAmountMinor: Int64?, billingCurrency: String?, standInResponseCode: String? = nil) {
        self.mti = mti
        self.stan = stan
        self.rrn = rrn
        self.transmittedAt = transmittedAt
        self.acquirer = acquirer
        self.terminal = terminal
        self.processingCode = processingCode
        self.entryMode = entryMode
        self.posCondition = posCondition
        self.transactionAmountMinor = transactionAmountMinor
        self.transactionCurrency = transactionCurrency
        self.billingAmountMinor = billingAmountMinor
        self.billingCurrency = billingCurrency
        self.standInResponseCode = standInResponseCode
    }
}

/// The one layout of a network message: `Codable` encodes what the writer writes.
extension NetworkMessage: JSONWritable {
    public func write(to w: inout JSONWriter) {
        w.object { w in
            w.field("acquirer", acquirer)
            w.field("billing_amount_minor", billingAmountMinor)
            w.field("billing_currency", billingCurrency)
            w.field("entry_mode", entryMode)
            w.field("mti", mti)
            w.field("pos_condition", posCondition)
            w.field("processing_code", processingCode)
            w.field("rrn", rrn)
            w.field("stan", stan)
            w.field("stand_in_response_code", standInResponseCode)
            w.field("terminal", terminal)
            w.field("transaction_amount_minor", transactionAmountMinor)
            w.field("transaction_currency", transactionCurrency)
            w.field("transmitted_at", transmittedAt)
        }
    }
}

extension NetworkMessage { public func encode(to encoder: any Encoder) throws { try json.encode(to: encoder) } }
