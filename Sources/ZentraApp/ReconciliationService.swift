import ZentraCore
import ZentraStorage

public struct AssignCaseInput: Sendable, Decodable {
    public var owner: String

    public init(owner: String) { self.owner = owner }
}

public struct ResolveCaseInput: Sendable, Decodable {
    public var resolution: String
    public var note: String?

    public init(resolution: String, note: String?) {
        self.resolution = resolution
        self.note = note
    }
}

/// The operator's side of reconciliation: a case is assigned to an owner and resolved with a
/// resolution and a note. Nothing here moves money: the clearing posted what the network moved.
public enum ReconciliationService {
    public static func assign(_ id: ReconciliationCaseID, _ input: AssignCaseInput, in tx: WriteTransaction) async throws -> ReconciliationCase {
        let owner = try Validate.text(input.owner, "owner", max: 200)
        var reconciliation = try await lock(id, in: tx)
        reconciliation.status = try ReconciliationTransitions.assign(from: reconciliation.status)
        reconciliation.owner = owner
        return try await save(reconciliation, event: .reconciliationAssigned, in: tx)
    }

    public static func resolve(_ id: ReconciliationCaseID, _ input: ResolveCaseInput, in tx: WriteTransaction) async throws -> ReconciliationCase {
        let resolution = try Validate.enumValue(input.resolution, "resolution", as: ReconciliationResolution.self)
        let note = try input.note.map { try Validate.text($0, "note", max: 2000) }
        var reconciliation = try await lock(id, in: tx)
        reconciliation.status = try ReconciliationTransitions.resolve(from: reconciliation.status)
        reconciliation.resolution = resolution
        reconciliation.note = note
        reconciliation.resolvedBy = tx.scope.actor
        reconciliation.resolvedAt = tx.now
        if reconciliation.owner == nil { reconciliation.owner = tx.scope.actor }
        return try await save(reconciliation, event: .reconciliationResolved, in: tx)
    }

    static func lock(_ id: ReconciliationCaseID, in tx: WriteTransaction) async throws -> ReconciliationCase {
        guard let found = try await tx.reconciliationCases.locked(id) else { throw DomainError.resourceMissing("reconciliation_case", id: id.rawValue) }
        return found
    }

    static func save(_ reconciliation: ReconciliationCase, event: EventType, in tx: WriteTransaction) async throws -> ReconciliationCase {
        var reconciliation = reconciliation
        reconciliation.updatedAt = tx.now
        let rendered = reconciliation.json.serialized
        try await tx.reconciliationCases.update(reconciliation, json: String(decoding: rendered, as: UTF8.self))
        tx.emit(event, objectType: .reconciliationCase, objectID: reconciliation.id.rawValue, rendered: rendered)
        tx.audit(.event(event), objectType: .reconciliationCase, objectID: reconciliation.id.rawValue, context: .object([
            "status": .string(reconciliation.status.rawValue), "owner": reconciliation.owner.map { .string($0) } ?? .null,
            "resolution": reconciliation.resolution.map { .string($0.rawValue) } ?? .null,
        ]))
        return reconciliation
    }
}
