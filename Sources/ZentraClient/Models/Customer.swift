import Foundation

/// A person or business that holds accounts and cards.
public struct Customer: Identified, Codable, Hashable {
    public let id: String
    public let name: String
    public let email: String
    public let kycStatus: KYCStatus
    public let createdAt: Date?
    public let updatedAt: Date?

    enum CodingKeys: String, CodingKey {
        case id, name, email
        case kycStatus = "kyc_status"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

/// Only `verified` customers get cards.
public enum KYCStatus: OpenEnum {
    case pending, verified, rejected
    case unknown(String)
    public static let known: [KYCStatus] = [.pending, .verified, .rejected]
}

/// A customer's money in one ledger currency.
public struct Account: Identified, Codable, Hashable {
    public let id: String
    public let customer: String
    public let currency: String
    public let kind: Kind
    public let availableMinor: Int64
    public let reservedMinor: Int64
    /// `availableMinor + reservedMinor`.
    public let postedMinor: Int64
    public let createdAt: Date?

    public enum Kind: OpenEnum {
        case wallet, operating
        case unknown(String)
        public static let known: [Kind] = [.wallet, .operating]
    }

    enum CodingKeys: String, CodingKey {
        case id, customer, currency, kind
        case availableMinor = "available_minor"
        case reservedMinor = "reserved_minor"
        case postedMinor = "posted_minor"
        case createdAt = "created_at"
    }
}

/// Outside money brought into an account.
public struct Deposit: Identified, Codable, Hashable {
    public let id: String
    public let account: String
    public let amountMinor: Int64
    public let currency: String
    public let transactionReference: String
    public let journalEntry: String?
    public let intent: String?
    public let createdAt: Date?

    enum CodingKeys: String, CodingKey {
        case id, account, currency, intent
        case amountMinor = "amount_minor"
        case transactionReference = "transaction_reference"
        case journalEntry = "journal_entry"
        case createdAt = "created_at"
    }
}

/// The caller's tenant and its settings.
public struct Tenant: Identified, Codable, Hashable {
    public let id: String
    public let name: String
    /// The IANA time zone that names the day, week and month of every spend window.
    public let timeZone: String
    public let createdAt: Date?

    enum CodingKeys: String, CodingKey {
        case id, name
        case timeZone = "time_zone"
        case createdAt = "created_at"
    }
}

/// An API key, without its secret.
public struct APIKey: Identified, Codable, Hashable {
    public let id: String
    public let role: Role
    public let name: String?
    public let keyPrefix: String?
    /// The secret: in the creation answer only.
    public let apiKey: String?
    public let createdAt: Date?
    public let revokedAt: Date?

    enum CodingKeys: String, CodingKey {
        case id, role, name
        case keyPrefix = "key_prefix"
        case apiKey = "api_key"
        case createdAt = "created_at"
        case revokedAt = "revoked_at"
    }
}

/// What a key may do (`docs/roles.md`; `docs/conventions.md`, "Authentication and roles").
public enum Role: OpenEnum {
    case admin, developer, network, `operator`, readonly
    case unknown(String)
    public static let known: [Role] = [.admin, .developer, .network, .operator, .readonly]
}
