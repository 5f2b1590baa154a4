import ZentraCore
import ZentraStorage

public struct CreateCustomer: Sendable, Decodable {
    public var name: String
    public var email: String
    public var kycStatus: String?

    public init(name: String, email: String, kycStatus: String? = nil) {
        self.name = name
        self.email = email
        self.kycStatus = kycStatus
    }
}

/// Customers and their KYC status: identity operations, each one a runtime intent.
public enum CustomerService {
    public static func create(_ input: CreateCustomer, spec: IntentSpec = IntentSpec(), in tx: WriteTransaction) async throws -> Customer {
        let name = try Validate.text(input.name, "name")
        let email = try Validate.email(input.email)
        let status = try input.kycStatus.map { try Validate.enumValue($0, "kyc_status", as: KYCStatus.self) } ?? .pending
        var intent = IntentTracker(tx, type: .customerCreate, spec: spec, detail: "create customer")
        try intent.advance(.validated, "name, email and kyc_status accepted")

        let customer = Customer(id: tx.newID(), name: name, email: email, kycStatus: status, createdAt: tx.now, updatedAt: tx.now)
        try await tx.customers.insert(customer)
        let event = try tx.emit(.customerCreated, objectType: .customer, objectID: customer.id.rawValue, data: customer)
        try intent.advance(.eventsEmitted, EventType.customerCreated.rawValue, events: [event])
        let audit = tx.audit(.event(.customerCreated), objectType: .customer, objectID: customer.id.rawValue,
                             context: .object(["kyc_status": .string(status.rawValue), "intent": .string(intent.id.rawValue)]))
        try intent.advance(.audited, "\(EventType.customerCreated.rawValue) recorded", auditRecords: [audit])
        _ = try intent.complete(subject: customer.id.rawValue)
        return customer
    }

    public static func updateKYC(
        _ id: CustomerID, status rawStatus: String, spec: IntentSpec = IntentSpec(), in tx: WriteTransaction
    ) async throws -> Customer {
        let status = try Validate.enumValue(rawStatus, "status", as: KYCStatus.self)
        var intent = IntentTracker(tx, type: .customerKYCUpdate, spec: spec, detail: "set KYC status to \(status.rawValue)")
        let before = try await tx.customers.locked(id)
        try intent.advance(.validated, "customer found; status \(before.kycStatus.rawValue) -> \(status.rawValue)")
        guard before.kycStatus != status else {
            try intent.advance(.policyEvaluated, "status unchanged: nothing to record")
            _ = try intent.complete(subject: id.rawValue)
            return before
        }
        try await tx.customers.updateKYC(id, status: status)
        var customer = before
        customer.kycStatus = status
        customer.updatedAt = tx.now
        let event = try tx.emit(.customerKYCUpdated, objectType: .customer, objectID: id.rawValue, data: customer)
        try intent.advance(.eventsEmitted, EventType.customerKYCUpdated.rawValue, events: [event])
        let audit = tx.audit(.event(.customerKYCUpdated), objectType: .customer, objectID: id.rawValue, context: .object([
            "from": .string(before.kycStatus.rawValue), "to": .string(status.rawValue), "intent": .string(intent.id.rawValue),
        ]))
        try intent.advance(.audited, "\(EventType.customerKYCUpdated.rawValue) recorded", auditRecords: [audit])
        _ = try intent.complete(subject: id.rawValue)
        return customer
    }
}
