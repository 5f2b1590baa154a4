import ZentraCore

/// One aggregate's statements (`tx.cards`, `scope.ledger`, …). Reads work on any scope, a read
/// scope or a unit of work; writes only where `Scope == WriteTransaction`, so a read path cannot
/// lock or write. The members below let a repository's SQL read as if it were the scope's own.
protocol AggregateRepository: Sendable {
    associatedtype Scope: TenantScope
    var base: Scope { get }
}

extension AggregateRepository {
    var sql: any SQLExecutor { base.sql }
    var tenant: TenantID { base.tenant }
}

extension AggregateRepository where Scope == WriteTransaction {
    var now: Timestamp { base.now }
    func newID<Kind: IdentifierKind>(_ kind: Kind.Type = Kind.self) -> ID<Kind> { base.newID(kind) }
    @discardableResult
    func audit(_ action: AuditAction, objectType: ObjectType, objectID: String, context: JSONValue = .object([:])) -> AuditRecordID {
        base.audit(action, objectType: objectType, objectID: objectID, context: context)
    }
}
