import Crypto
import Foundation
import Hummingbird
import ZentraCore

/// A request body read once: the decoded input plus what idempotency needs.
struct JSONBody<Input: Decodable & Sendable>: Sendable {
    let input: Input
    let parsed: ParsedBody

    var idempotencyKey: String? { parsed.idempotencyKey }

    static func read(_ request: Request, context: AppRequestContext) async throws -> JSONBody {
        let parsed = try ParsedBody.parse(try await jsonBytes(request, context: context))
        do {
            return JSONBody(input: try ZentraJSON.decoder().decode(Input.self, from: parsed.data), parsed: parsed)
        } catch let error as DecodingError {
            throw ParsedBody.describe(error)
        }
    }
}

/// The body's bytes, refused unless they are sent as JSON.
func jsonBytes(_ request: Request, context: AppRequestContext) async throws -> [UInt8] {
    var request = request
    let buffer = try await request.collectBody(upTo: context.maxUploadSize)
    let bytes = Array(buffer.readableBytesView)
    if !bytes.isEmpty, let type = request.headers[.contentType], !type.lowercased().hasPrefix("application/json") {
        throw DomainError(.unsupportedMediaType, code: "unsupported_media_type",
                          message: "Send the body as application/json (got \(type)).")
    }
    return bytes
}

/// A JSON object body, parsed once and checked for shape and money fields, for a route that reads
/// its fields straight from the parsed value (no idempotency key, no second decoding pass).
func jsonObject(_ request: Request, context: AppRequestContext) async throws -> JSONValue {
    try ParsedBody.object(try await jsonBytes(request, context: context))
}

/// A JSON object body checked for shape and money fields, with its own `idempotency_key` taken
/// out and a canonical form for the idempotency fingerprint (key order and spacing do not matter).
struct ParsedBody: Sendable {
    let data: Data
    let idempotencyKey: String?
    let canonical: [UInt8]

    static func parse(_ bytes: [UInt8]) throws -> ParsedBody {
        let (value, rewroteNumbers) = try read(bytes)
        guard case .object(var object) = value else { preconditionFailure("an object was checked") }
        // Foundation's decoder reads the body next: it gets whole numbers as the integers they are
        // (and `{}` for an empty body).
        let data = Data(rewroteNumbers || bytes.isEmpty ? value.serialized : bytes)
        var key: String?
        if let raw = object.removeValue(forKey: "idempotency_key") {
            guard case .string(let string) = raw else { throw DomainError.parameterInvalid("idempotency_key", "must be a string") }
            key = string
        }
        return ParsedBody(data: data, idempotencyKey: key, canonical: JSONValue.object(object).serialized)
    }

    /// The body as a JSON object whose money fields are integers and whose text is free of
    /// control characters.
    static func object(_ bytes: [UInt8]) throws -> JSONValue {
        try read(bytes).value
    }

    /// An empty body reads as `{}`.
    private static func read(_ bytes: [UInt8]) throws -> (value: JSONValue, rewroteNumbers: Bool) {
        guard let parsed = try? JSONValue.parseRequestBody(bytes.isEmpty ? Array("{}".utf8) : bytes) else {
            throw DomainError.invalidRequest("The body is not valid JSON.")
        }
        guard case .object = parsed.value else { throw DomainError.invalidRequest("The body must be a JSON object.") }
        try checkFields(parsed.value, path: "")
        return parsed
    }

    /// One walk of the body before anything else reads it, refusing with the field named:
    /// - money is an integer count of minor units: a fraction or a number past 64 bits in any
    ///   `*_minor` field;
    /// - text holds no control characters but tab, line feed and carriage return (a NUL was a 500
    ///   on PostgreSQL and stored on SQLite: the engines must agree, and nothing needs one).
    static func checkFields(_ value: JSONValue, path: String) throws {
        switch value {
        case .object(let fields):
            for (name, field) in fields {
                let fieldPath = path.isEmpty ? name : "\(path).\(name)"
                if name.hasSuffix("_minor"), case .double = field {
                    throw DomainError.parameterInvalid(fieldPath, "must be an integer count of minor units that fits in 64 bits")
                }
                // A bad key is named by the object that holds it: never echo the characters back.
                try checkText(name, path: path.isEmpty ? "body" : path)
                try checkFields(field, path: fieldPath)
            }
        case .array(let items):
            for (index, item) in items.enumerated() { try checkFields(item, path: "\(path)[\(index)]") }
        case .string(let text):
            try checkText(text, path: path)
        default:
            break
        }
    }

    static func checkText(_ text: String, path: String) throws {
        guard text.utf8.contains(where: { $0 < 0x20 && $0 != 0x09 && $0 != 0x0A && $0 != 0x0D }) || text.utf8.contains(0x7F) else { return }
        throw DomainError.parameterInvalid(path, "must not contain control characters (only tab, line feed and carriage return are allowed)")
    }

    /// Names the offending parameter in snake_case, dotted for nested fields.
    static func describe(_ error: DecodingError) -> DomainError {
        func path(_ keys: [any CodingKey]) -> String {
            keys.map { $0.intValue.map { "[\($0)]" } ?? snakeCase($0.stringValue) }.joined(separator: ".")
                .replacingOccurrences(of: ".[", with: "[")
        }
        switch error {
        case .keyNotFound(let key, let context):
            return .parameterMissing(path(context.codingPath + [key]))
        case .valueNotFound(_, let context):
            return .parameterMissing(path(context.codingPath))
        case .typeMismatch(let type, let context):
            return .parameterInvalid(path(context.codingPath), "expected \(describeType(type))")
        case .dataCorrupted(let context):
            let param = path(context.codingPath)
            if param.hasSuffix("_minor") {
                return .parameterInvalid(param, "must be an integer count of minor units that fits in 64 bits")
            }
            return param.isEmpty ? .invalidRequest("The body is not valid JSON.") : .parameterInvalid(param, context.debugDescription)
        @unknown default:
            return .invalidRequest("The body could not be read.")
        }
    }

    static func describeType(_ type: Any.Type) -> String {
        switch type {
        case is Int64.Type, is Int.Type: "an integer"
        case is String.Type: "a string"
        case is Bool.Type: "a boolean"
        default: "\(type)".lowercased().contains("array") ? "an array" : "an object"
        }
    }

    static func snakeCase(_ key: String) -> String {
        var result = ""
        for character in key {
            if character.isUppercase {
                result += "_" + character.lowercased()
            } else {
                result.append(character)
            }
        }
        return result
    }

    /// SHA-256 of method, path and canonical body: the identity of "the same request".
    func fingerprint(method: HTTPRequest.Method, path: String) -> String {
        var hasher = SHA256()
        hasher.update(data: Array("\(method.rawValue) \(path)\n".utf8))
        hasher.update(data: canonical)
        return Hex.encode(hasher.finalize())
    }
}
