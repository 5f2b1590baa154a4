/// An id a request body names, read where the body is read. A malformed one keeps its text, so
/// the use case answers it exactly as it answers an unknown id (404 on that field), in the use
/// case's own order of checks: a body is not refused for its `customer` before its `type` is.
public struct Reference<Kind: IdentifierKind>: Sendable, Hashable, Decodable, CustomStringConvertible {
    /// As the client wrote it.
    public let text: String
    private let parsed: ID<Kind>?

    public init(_ text: String) {
        self.text = text
        parsed = ID(text)
    }

    public init(_ id: ID<Kind>) {
        text = id.rawValue
        parsed = id
    }

    public init(from decoder: any Decoder) throws {
        self.init(try decoder.singleValueContainer().decode(String.self))
    }

    public var description: String { text }

    /// The id it names; a malformed one is the 404 `resource_missing` an unknown `what` gets, on `param`.
    public func id(_ what: String, param: String) throws(DomainError) -> ID<Kind> {
        guard let parsed else { throw DomainError.resourceMissing(what, id: text, param: param) }
        return parsed
    }
}
