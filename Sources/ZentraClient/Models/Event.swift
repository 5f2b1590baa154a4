import Foundation

/// A state change, written in the same transaction as the change; numbered per tenant.
public struct Event: Identified, Codable, Hashable {
    public let id: String
    /// `card.issued`, `authorization.approved`, ... (the server's catalog grows: a string).
    public let type: String
    public let sequence: Int64
    /// `data.object`: the object as it was after the change.
    public let data: JSONValue
    public let requestID: String?
    public let createdAt: Date?

    /// The changed object, as JSON.
    public var object: JSONValue? { data["object"] }

    /// The changed object decoded as `type` (`try event.object(as: Card.self)`).
    public func object<Object: Decodable>(as _: Object.Type) throws -> Object {
        try JSONCoding.decoder.decode(Object.self, from: JSONCoding.encoder.encode(data["object"] ?? .null))
    }

    enum CodingKeys: String, CodingKey {
        case id, type, sequence, data
        case requestID = "request_id"
        case createdAt = "created_at"
    }
}

/// Where events are delivered, signed (Standard Webhooks).
public struct WebhookEndpoint: Identified, Codable, Hashable {
    public let id: String
    public let url: String
    public let eventTypes: [String]
    public let description: String?
    public let status: Status
    public let disabledReason: String?
    /// The signing secret (`whsec_...`): in the creation and rotation answers only.
    public let secret: String?
    public let previousSecretExpiresAt: Date?
    public let createdAt: Date?
    public let updatedAt: Date?

    public enum Status: OpenEnum {
        case enabled, disabled
        case unknown(String)
        public static let known: [Status] = [.enabled, .disabled]
    }

    enum CodingKeys: String, CodingKey {
        case id, url, description, status, secret
        case eventTypes = "event_types"
        case disabledReason = "disabled_reason"
        case previousSecretExpiresAt = "previous_secret_expires_at"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

/// One event on its way to one endpoint, with every attempt.
public struct WebhookDelivery: Identified, Codable, Hashable {
    public let id: String
    public let webhookEndpoint: String
    public let event: String
    public let eventType: String?
    public let redelivery: Bool?
    public let status: Status
    public let nextAttemptAt: Date?
    public let attempts: [Attempt]
    public let createdAt: Date?
    public let updatedAt: Date?

    public enum Status: OpenEnum {
        case pending, succeeded, failed
        case unknown(String)
        public static let known: [Status] = [.pending, .succeeded, .failed]
    }

    public struct Attempt: Codable, Hashable, Sendable {
        public let number: Int
        public let attemptedAt: Date?
        public let result: String
        public let statusCode: Int?
        public let latencyMs: Int?
        public let error: String?
        public let responseExcerpt: String?

        enum CodingKeys: String, CodingKey {
            case number, result, error
            case attemptedAt = "attempted_at"
            case statusCode = "status_code"
            case latencyMs = "latency_ms"
            case responseExcerpt = "response_excerpt"
        }
    }

    enum CodingKeys: String, CodingKey {
        case id, event, redelivery, status, attempts
        case webhookEndpoint = "webhook_endpoint"
        case eventType = "event_type"
        case nextAttemptAt = "next_attempt_at"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

/// The answer to a deletion.
public struct DeletedObject: Identified, Codable, Hashable {
    public let id: String
    public let deleted: Bool
}

/// A money or identity workflow run through the one state machine, step by step.
public struct RuntimeIntent: Identified, Codable, Hashable {
    public let id: String
    /// The caller's name for it: its idempotency key.
    public let intentID: String?
    public let type: String?
    public let scope: String?
    public let moneyModel: String?
    public let primitives: [String]?
    public let status: String
    public let steps: [Step]
    public let subject: String?
    public let createdAt: Date?

    public struct Step: Codable, Hashable, Sendable {
        public let sequence: Int
        public let state: String
        public let at: Date?
        public let detail: String?
        public let journalEntries: [String]?
        public let events: [String]?
        public let auditRecords: [String]?

        enum CodingKeys: String, CodingKey {
            case sequence, state, at, detail, events
            case journalEntries = "journal_entries"
            case auditRecords = "audit_records"
        }
    }

    enum CodingKeys: String, CodingKey {
        case id, type, scope, primitives, status, steps, subject
        case intentID = "intent_id"
        case moneyModel = "money_model"
        case createdAt = "created_at"
    }
}

/// What an intent runs: a deposit or a KYC update, with the roles of its own route.
public enum IntentOperation: Sendable, Hashable {
    case deposit(account: String, amountMinor: Int64, transactionReference: String)
    case kycUpdate(customer: String, status: KYCStatus)

    var json: JSONValue {
        switch self {
        case .deposit(let account, let amountMinor, let reference):
            ["type": "deposit", "account": .string(account), "amount_minor": .integer(amountMinor), "transaction_reference": .string(reference)]
        case .kycUpdate(let customer, let status):
            ["type": "kyc_update", "customer": .string(customer), "status": .string(status.rawValue)]
        }
    }
}

/// One record of the hash-chained audit log.
public struct AuditRecord: Identified, Codable, Hashable {
    public let id: String
    public let sequence: Int64
    public let actor: String
    public let action: String
    public let objectType: String?
    public let objectID: String?
    public let requestID: String?
    public let idempotencyKey: String?
    public let context: JSONValue?
    public let previousHash: String?
    public let hash: String
    public let createdAt: Date?

    enum CodingKeys: String, CodingKey {
        case id, sequence, actor, action, context, hash
        case objectType = "object_type"
        case objectID = "object_id"
        case requestID = "request_id"
        case idempotencyKey = "idempotency_key"
        case previousHash = "previous_hash"
        case createdAt = "created_at"
    }
}

/// The audit chain walked end to end.
public struct AuditVerification: Codable, Hashable, Sendable {
    public let valid: Bool
    public let recordsChecked: Int
    public let headHash: String?
    public let brokenAtSequence: Int?
    public let reason: String?

    enum CodingKeys: String, CodingKey {
        case valid, reason
        case recordsChecked = "records_checked"
        case headHash = "head_hash"
        case brokenAtSequence = "broken_at_sequence"
    }
}
