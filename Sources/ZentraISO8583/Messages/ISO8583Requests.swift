import ZentraCore

/// A message the engine cannot take, with the response code (field 39) that says why.
struct ISO8583Refusal: Error {
    let code: String
    let reason: String

    static func format(_ reason: String) -> ISO8583Refusal { ISO8583Refusal(code: ResponseCode.formatError, reason: reason) }
}

/// The response codes this link answers besides a decision's own (`DeclineReason.responseCode`).
enum ResponseCode {
    static let approved = "00"
    static let invalidTransaction = "12"
    static let invalidAmount = "13"
    static let unknownCard = "14"
    static let unknownOriginal = "25"
    static let formatError = "30"
    static let functionNotSupported = "40"
    static let expiredCard = "54"
    static let duplicateTransmission = "94"
    static let systemMalfunction = "96"
}

/// Reads fields as the layout's content rules say, refusing with a format error.
extension ISO8583Message {
    func required(_ field: Int) throws(ISO8583Refusal) -> String {
        guard let value = fields[field] else { throw .format("field \(field) is missing") }
        return value
    }

    /// A field of digits only, `count` of them when given.
    func digits(_ field: Int) throws(ISO8583Refusal) -> String {
        let value = try required(field)
        guard !value.isEmpty, value.utf8.allSatisfy(ASCII.isDigit) else { throw .format("field \(field) must be digits") }
        return value
    }

    /// The response's type: a request's (`0100` → `0110`) or an advice's (`0120` → `0130`); nil
    /// for a message that is itself an answer or a notification.
    static func responseType(of mti: String) -> String? {
        var bytes = Array(mti.utf8)
        guard bytes.count == 4, bytes[2] == UInt8(ascii: "0") || bytes[2] == UInt8(ascii: "2") else { return nil }
        bytes[2] += 1
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// What an `0100` (or an `0120` advice) says, read and checked: everything `POST /authorizations`
/// would be sent, plus the expiry to hold the card to and the fields the decision keeps as its
/// network message (for an advice, with the network's own response code, field 39).
struct NetworkAuthorization {
    let pan: String
    /// Field 14, `YYMM`.
    let expiry: (year: Int, month: Int)
    /// What the hold and the limits count: the cardholder billing amount (fields 6 and 51) when the
    /// network sent it, else the transaction's (4 and 49).
    let amountMinor: Int64
    let currency: Currency
    let merchant: Merchant
    let channel: Channel
    let networkReference: String
    let network: NetworkMessage

    init(_ message: ISO8583Message) throws(ISO8583Refusal) {
        pan = try message.digits(2)
        guard (12...19).contains(pan.count) else { throw .format("field 2 must be 12 to 19 digits") }
        let expiry = Array(try message.digits(14).utf8)
        let month = Int(expiry[2] - 0x30) * 10 + Int(expiry[3] - 0x30)
        self.expiry = (Int(expiry[0] - 0x30) * 10 + Int(expiry[1] - 0x30), month)
        func currency(_ field: Int) throws(ISO8583Refusal) -> Currency {
            guard let currency = Currency(numericCode: Int(try message.digits(field))!) else {
                throw .format("field \(field) is not an ISO 4217 numeric currency")
            }
            return currency
        }
        let transaction = (minor: Int64(try message.digits(4))!, currency: try currency(49))
        var billing: (minor: Int64, currency: Currency)?
        if message[6] != nil || message[51] != nil {
            billing = (Int64(try message.digits(6))!, try currency(51))
        }
        (amountMinor, self.currency) = billing ?? transaction
        let mcc = try message.digits(18)
        let place = Array(try message.required(43).utf8)
        guard place.count == 40 else { throw .format("field 43 must be 40 characters") }
        func part(_ range: Range<Int>) -> String { ASCII.trimmingSpaces(place[range]) }
        let city = part(23..<36)
        merchant = Merchant(id: ASCII.trimmingSpaces(Array(try message.required(42).utf8)[...]), name: part(0..<23), mcc: mcc,
                            country: part(38..<40), city: city.isEmpty ? nil : city)
        channel = Self.channel(entryMode: try message.digits(22), condition: message[25], mcc: mcc)
        let acquirer = try message.digits(32), transmitted = try message.digits(7), trace = try message.digits(11)
        let retrieval = ASCII.trimmingSpaces(Array(try message.required(37).utf8)[...])
        var standIn: String?
        if message.mti == "0120" {
            let code = try message.required(39)
            guard code.utf8.count == 2, code.utf8.allSatisfy({ ASCII.isDigit($0) || (0x41...0x5A).contains($0) }) else {
                throw .format("field 39 of an advice must be 2 digits or capital letters")
            }
            standIn = code
        }
        networkReference = Self.reference(acquirer: acquirer, transmitted: transmitted, trace: trace, retrieval: retrieval)
        network = NetworkMessage(
            mti: message.mti, stan: trace, rrn: retrieval, transmittedAt: transmitted, acquirer: acquirer,
            terminal: message[41].map { ASCII.trimmingSpaces(Array($0.utf8)[...]) }, processingCode: message[3], entryMode: try message.digits(22),
            posCondition: message[25], transactionAmountMinor: transaction.minor, transactionCurrency: transaction.currency.code,
            billingAmountMinor: billing?.minor, billingCurrency: billing?.currency.code, standInResponseCode: standIn)
    }

    /// The channel a decision sees: an ATM by its category code, a mail or telephone order by the
    /// POS condition code (field 25 = `08`), else by how the card was read (field 22's first two
    /// digits). `docs/iso8583.md` has the table.
    static func channel(entryMode: String, condition: String?, mcc: String) -> Channel {
        if mcc == "6011" { return .atm }
        if condition == "08" { return .moto }
        switch entryMode.prefix(2) {
        case "01", "10", "81", "82": return .online
        case "07", "91": return .contactless
        default: return .inStore
        }
    }

    /// The `network_reference` of a message: its acquirer, transmission time, trace number and
    /// retrieval reference, which together name one transaction (and a repeat of it) for good.
    static func reference(acquirer: String, transmitted: String, trace: String, retrieval: String) -> String {
        let acquirer = acquirer.drop { $0 == "0" }
        return "iso8583:\(acquirer.isEmpty ? "0" : acquirer):\(transmitted):\(trace):\(ASCII.trimmingSpaces(Array(retrieval.utf8)[...]))"
    }
}

/// What an `0400` or `0420` says: the original by field 90, and what should stay held by field 95.
struct NetworkReversal {
    let pan: String
    let originalReference: String
    /// The replacement amount (field 95's first 12 digits): what the original comes down to.
    let remainingMinor: Int64?

    init(_ message: ISO8583Message) throws(ISO8583Refusal) {
        pan = try message.digits(2)
        let original = Array(try message.digits(90).utf8)
        guard original.count == 42 else { throw .format("field 90 must be 42 digits") }
        func part(_ range: Range<Int>) -> String { String(decoding: original[range], as: UTF8.self) }
        originalReference = NetworkAuthorization.reference(acquirer: part(20..<31), transmitted: part(10..<20), trace: part(4..<10),
                                                           retrieval: try message.required(37))
        if let replacement = message[95] {
            let amount = replacement.prefix(12)
            guard amount.count == 12, amount.utf8.allSatisfy(ASCII.isDigit) else {
                throw .format("field 95 must start with 12 digits")
            }
            remainingMinor = Int64(amount)!
        } else {
            remainingMinor = nil
        }
    }
}
