import Foundation

/// The one JSON encoding used for responses, events, idempotency records and evidence:
/// snake_case keys, sorted so the same value always yields the same bytes.
public enum ZentraJSON {
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }

    public static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        Array(try encoder().encode(value))
    }

    public static func encodeString<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try encoder().encode(value), as: UTF8.self)
    }
}

/// A JSON value kept as-is: event payloads, audit context, intent details.
public enum JSONValue: Hashable, Sendable, Codable {
    case null
    case bool(Bool)
    case int(Int64)
    /// A number that is not a 64-bit integer; never valid where money (`*_minor`) is expected.
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// Any encodable value as a JSON value, encoded the one way (snake_case keys).
    public init(encoding value: some Encodable) throws {
        self = try ZentraJSON.decoder().decode(JSONValue.self, from: try ZentraJSON.encoder().encode(value))
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .int(value)
        } else if let value = try? container.decode(Double.self) {
            self = .double(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else if let value = try? container.decode([String: JSONValue].self) {
            self = .object(value)
        } else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "unsupported JSON value")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// Converts any encodable value (a model, a payload) to a JSON value with the project's key style.
    public static func from<T: Encodable>(_ value: T) throws -> JSONValue {
        try ZentraJSON.decoderPlain.decode(JSONValue.self, from: ZentraJSON.encoder().encode(value))
    }
}

extension ZentraJSON {
    /// Decodes without key conversion: for values whose keys are already in wire form.
    static var decoderPlain: JSONDecoder { JSONDecoder() }
}
