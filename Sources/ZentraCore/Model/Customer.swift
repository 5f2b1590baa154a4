public enum KYCStatus: String, Sendable, Codable, Hashable, CaseIterable {
    case pending
    case verified
    case rejected
}

public struct Customer: Sendable, Hashable, Codable {
    public let id: CustomerID
    public let object: String
    public var name: String
    public var email: String
    public var kycStatus: KYCStatus
    public let createdAt: Timestamp
    public var updatedAt: Timestamp

    public init(id: CustomerID, name: String, email: String, kycStatus: KYCStatus, createdAt: Timestamp, updatedAt: Timestamp) {
        self.id = id
        self.object = ObjectType.customer.rawValue
        self.name = name
        self.email = email
        self.kycStatus = kycStatus
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}
