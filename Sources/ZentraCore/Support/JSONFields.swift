/// The fields of a JSON object read by name, with the errors a request's decoder gives: a field
/// missing or null is `parameter_missing`, one of another type `parameter_invalid` naming what was
/// expected, each with its dotted path (`merchant.mcc`). For bodies read on the hot path without a
/// second decoding pass; unknown fields are ignored, as the decoder ignores them.
public struct JSONFields: Sendable {
    let fields: [String: JSONValue]
    let path: String

    public init(_ value: JSONValue, path: String = "") throws(DomainError) {
        guard case .object(let fields) = value else {
            throw path.isEmpty ? DomainError.invalidRequest("The body must be a JSON object.") : DomainError.parameterInvalid(path, "expected an object")
        }
        self.fields = fields
        self.path = path
    }

    func name(_ field: String) -> String { path.isEmpty ? field : "\(path).\(field)" }

    /// The field's value; nil when it is absent or null.
    func value(_ field: String) -> JSONValue? {
        guard let value = fields[field], value != .null else { return nil }
        return value
    }

    public func string(_ field: String) throws(DomainError) -> String {
        guard let value = try optionalString(field) else { throw DomainError.parameterMissing(name(field)) }
        return value
    }

    public func optionalString(_ field: String) throws(DomainError) -> String? {
        guard let value = value(field) else { return nil }
        guard case .string(let string) = value else { throw DomainError.parameterInvalid(name(field), "expected a string") }
        return string
    }

    public func int(_ field: String) throws(DomainError) -> Int64 {
        guard let value = value(field) else { throw DomainError.parameterMissing(name(field)) }
        guard case .int(let int) = value else { throw DomainError.parameterInvalid(name(field), "expected an integer") }
        return int
    }

    public func double(_ field: String) throws(DomainError) -> Double {
        guard let value = try optionalDouble(field) else { throw DomainError.parameterMissing(name(field)) }
        return value
    }

    public func optionalDouble(_ field: String) throws(DomainError) -> Double? {
        switch value(field) {
        case nil: return nil
        case .int(let int)?: return Double(int)
        case .double(let double)?: return double
        default: throw DomainError.parameterInvalid(name(field), "expected a number")
        }
    }

    public func object(_ field: String) throws(DomainError) -> JSONFields {
        guard let value = try optionalObject(field) else { throw DomainError.parameterMissing(name(field)) }
        return value
    }

    public func optionalObject(_ field: String) throws(DomainError) -> JSONFields? {
        guard let value = value(field) else { return nil }
        return try JSONFields(value, path: name(field))
    }
}
