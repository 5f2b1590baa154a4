/// What a money movement keyed by a client's `transaction_reference` did: made it now, or found the
/// one this reference made before (same request), which answers without moving money again.
public enum ReferencedOutcome<Value: Sendable>: Sendable {
    case created(Value)
    case existing(Value)

    public var value: Value {
        switch self {
        case .created(let value), .existing(let value): value
        }
    }

    /// The same outcome around another answer (the same funding with a deprecation warning, say).
    public func map<Other: Sendable>(_ transform: (Value) -> Other) -> ReferencedOutcome<Other> {
        switch self {
        case .created(let value): .created(transform(value))
        case .existing(let value): .existing(transform(value))
        }
    }
}
