import ZentraCore
import ZentraStorage

/// `POST /runtime/intents`: a workflow named by the client's `intent_id`, optionally carrying the
/// operation it runs. Without one, the intent walks the steps of its primitives and records them.
public struct CreateIntent: Sendable, Decodable {
    public var intentId: String
    public var scope: String?
    public var moneyModel: String?
    public var primitives: [String]?
    public var operation: Operation?

    public struct Operation: Sendable, Decodable {
        /// The operations an intent can run.
        public enum Kind: String, Sendable, CaseIterable {
            case deposit
            case kycUpdate = "kyc_update"
        }

        public var type: String
        public var account: Reference<AccountKind>?
        public var amountMinor: Int64?
        public var transactionReference: String?
        public var customer: Reference<CustomerKind>?
        public var status: String?

        /// `type`, when it names an operation.
        public var kind: Kind? { Kind(rawValue: type) }
    }
}

public enum IntentService {
    public static let intentKey_max = 200

    public static func create(_ input: CreateIntent, in tx: WriteTransaction) async throws -> RuntimeIntent {
        let key = try Validate.text(input.intentId, "intent_id", max: intentKey_max)
        let moneyModel = input.moneyModel ?? IntentSpec.moneyModel
        guard moneyModel == IntentSpec.moneyModel else {
            throw DomainError.parameterInvalid("money_model", "must be \"\(IntentSpec.moneyModel)\"")
        }
        let primitives = input.primitives ?? IntentSpec.knownPrimitives
        guard !primitives.isEmpty else { throw DomainError.parameterInvalid("primitives", "must not be empty") }
        for primitive in primitives where !IntentSpec.knownPrimitives.contains(primitive) {
            throw DomainError.parameterInvalid("primitives", "unknown primitive \(primitive); known: \(IntentSpec.knownPrimitives.joined(separator: ", "))")
        }
        let spec = IntentSpec(key: key, scope: try Validate.text(input.scope ?? "tenant", "scope"), moneyModel: moneyModel,
                              primitives: primitives)
        if try await tx.intents.find(key) != nil {
            throw DomainError(.conflict, code: "intent_exists", message: "Intent \(key) already exists with another request.", param: "intent_id")
        }

        guard let op = input.operation else {
            try await declare(spec, in: tx)
            return try recorded(key, in: tx)
        }
        switch op.kind {
        case .deposit:
            guard let account = op.account else { throw DomainError.parameterMissing("operation.account") }
            guard let amount = op.amountMinor else { throw DomainError.parameterMissing("operation.amount_minor") }
            guard let reference = op.transactionReference else { throw DomainError.parameterMissing("operation.transaction_reference") }
            if case .existing = try await AccountService.deposit(
                into: try account.id("account", param: "account"), CreateDeposit(amountMinor: amount, transactionReference: reference), spec: spec, in: tx) {
                throw DomainError.transactionReferenceConflict(reference)
            }
        case .kycUpdate:
            guard let customer = op.customer else { throw DomainError.parameterMissing("operation.customer") }
            guard let status = op.status else { throw DomainError.parameterMissing("operation.status") }
            _ = try await CustomerService.updateKYC(try customer.id("customer", param: "customer"), status: status, spec: spec, in: tx)
        case nil:
            let known = CreateIntent.Operation.Kind.allCases.map(\.rawValue).joined(separator: ", ")
            throw DomainError.parameterInvalid("operation.type", "unknown operation \(op.type); known: \(known)")
        }
        return try recorded(key, in: tx)
    }

    private static func recorded(_ key: String, in tx: WriteTransaction) throws -> RuntimeIntent {
        guard let intent = tx.recordedIntents.first(where: { $0.intentId == key }) else {
            throw DomainError.invariantViolated("intent \(key) was not recorded")
        }
        return intent
    }

    /// An intent with no operation: each primitive it names is a step, none of which moves money.
    private static func declare(_ spec: IntentSpec, in tx: WriteTransaction) async throws {
        var intent = IntentTracker(tx, type: .declared, spec: spec, detail: "intent \(spec.key ?? "") in scope \(spec.scope)")
        try intent.advance(.validated, "money model \(spec.moneyModel); primitives \(spec.primitives.joined(separator: ", "))")
        if spec.primitives.contains("policy") {
            try intent.advance(.policyEvaluated, "no operation to evaluate: declared intent")
        }
        if spec.primitives.contains("ledger") {
            try intent.advance(.ledgerPosted, "no money moved: no journal entry")
        }
        if spec.primitives.contains("events") {
            let event = try tx.emit(.runtimeIntentDeclared, objectType: .runtimeIntent, objectID: intent.id.rawValue,
                                    data: ["intent_id": spec.key ?? "", "scope": spec.scope])
            try intent.advance(.eventsEmitted, EventType.runtimeIntentDeclared.rawValue, events: [event])
        }
        let audit = tx.audit(.event(.runtimeIntentDeclared), objectType: .runtimeIntent, objectID: intent.id.rawValue,
                             context: .object(["intent_id": .string(spec.key ?? ""), "scope": .string(spec.scope)]))
        try intent.advance(.audited, "\(EventType.runtimeIntentDeclared.rawValue) recorded", auditRecords: [audit])
        _ = try intent.complete(subject: intent.id.rawValue)
    }
}
