/// The kind of object an identifier names, and the prefix its ids carry.
public protocol IdentifierKind: Sendable {
    static var prefix: String { get }
}

/// An opaque, prefixed identifier (`cus_…`, `acct_…`): typed so one kind cannot be passed for another.
/// Lossless as text, so a path parameter parses straight into it.
public struct ID<Kind: IdentifierKind>: Hashable, Sendable, Codable, LosslessStringConvertible, Comparable {
    public let rawValue: String

    public init(unchecked rawValue: String) { self.rawValue = rawValue }

    /// Parses client input: `nil` unless it carries this kind's prefix and a sane body.
    public init?(_ rawValue: String) {
        guard rawValue.hasPrefix(Kind.prefix), rawValue.count > Kind.prefix.count, rawValue.count <= 64,
            rawValue.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x41 && $0 <= 0x5A) || $0 == 0x5F })
        else { return nil }
        self.rawValue = rawValue
    }

    public var description: String { rawValue }
    public static func < (lhs: ID, rhs: ID) -> Bool { lhs.rawValue < rhs.rawValue }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let raw = try container.decode(String.self)
        guard let id = ID(raw) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "expected an id starting with \(Kind.prefix)")
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

public enum TenantKind: IdentifierKind { public static let prefix = "ten_" }
public enum APIKeyKind: IdentifierKind { public static let prefix = "key_" }
public enum CustomerKind: IdentifierKind { public static let prefix = "cus_" }
public enum AccountKind: IdentifierKind { public static let prefix = "acct_" }
public enum LedgerAccountKind: IdentifierKind { public static let prefix = "lacct_" }
public enum JournalEntryKind: IdentifierKind { public static let prefix = "je_" }
public enum LedgerEntryKind: IdentifierKind { public static let prefix = "le_" }
public enum TransactionKind: IdentifierKind { public static let prefix = "txn_" }
public enum EventKind: IdentifierKind { public static let prefix = "evt_" }
public enum AuditRecordKind: IdentifierKind { public static let prefix = "aud_" }
public enum IntentKind: IdentifierKind { public static let prefix = "int_" }
public enum RequestKind: IdentifierKind { public static let prefix = "req_" }

public typealias TenantID = ID<TenantKind>
public typealias APIKeyID = ID<APIKeyKind>
public typealias CustomerID = ID<CustomerKind>
public typealias AccountID = ID<AccountKind>
public typealias LedgerAccountID = ID<LedgerAccountKind>
public typealias JournalEntryID = ID<JournalEntryKind>
public typealias LedgerEntryID = ID<LedgerEntryKind>
public typealias TransactionID = ID<TransactionKind>
public typealias EventID = ID<EventKind>
public typealias AuditRecordID = ID<AuditRecordKind>
public typealias IntentID = ID<IntentKind>

/// Source of fresh identifiers; injected so the core stays deterministic under test and replay.
public protocol IDGenerator: Sendable {
    /// A new random body (no prefix); unique with overwhelming probability.
    func nextBody() -> String
}

extension IDGenerator {
    public func next<Kind: IdentifierKind>(_ kind: Kind.Type = Kind.self) -> ID<Kind> {
        ID(unchecked: Kind.prefix + nextBody())
    }
}

/// Source of the current time; injected for the same reason.
public protocol WallClock: Sendable {
    func now() -> Timestamp
}
