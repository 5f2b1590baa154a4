/// A string enumeration the server may extend. A value this SDK does not know decodes as
/// `.unknown(raw)` instead of failing: a newer server must never break an older client.
///
/// Conforming enums list their known cases in `known`; each case's wire name is its Swift name in
/// snake case (`inStore` is `in_store`), and the `unknown(String)` case carries any other name.
public protocol OpenEnum: Codable, Hashable, Sendable {
    /// Every case but `unknown`.
    static var known: [Self] { get }
    /// A value the server sent that this SDK has no case for.
    static func unknown(_ rawValue: String) -> Self
}

extension OpenEnum {
    /// The case named `rawValue` on the wire; `.unknown(rawValue)` when there is none.
    public init(rawValue: String) {
        self = Self.known.first { $0.rawValue == rawValue } ?? .unknown(rawValue)
    }

    /// The name on the wire.
    public var rawValue: String {
        // `unknown(String)` is the only case with a payload: its payload is the wire name. (Not
        // `CustomStringConvertible`: `String(describing:)` would then call back into this.)
        if let payload = Mirror(reflecting: self).children.first?.value as? String { return payload }
        return Self.snakeCased(String(describing: self))
    }

    public init(from decoder: any Decoder) throws {
        self.init(rawValue: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    private static func snakeCased(_ name: String) -> String {
        var result = ""
        for character in name {
            if character.isUppercase {
                result.append("_")
                result.append(contentsOf: character.lowercased())
            } else {
                result.append(character)
            }
        }
        return result
    }
}
