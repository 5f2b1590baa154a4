import Crypto
import Foundation

/// An evidence packet as the server signed it: the exact body bytes, the
/// `Zentra-Evidence-Signature` header, and the body as JSON.
public struct EvidencePacket: Sendable {
    /// The bytes the signature covers: keep these, not a re-encoding, to verify later.
    public let body: Data
    /// `keyid=<id>,ed25519=<base64>`.
    public let signature: String
    public var json: JSONValue { (try? JSONCoding.decoder.decode(JSONValue.self, from: body)) ?? .null }

    public init(body: Data, signature: String) {
        self.body = body
        self.signature = signature
    }

    static func fetch(_ path: String, _ transport: Transport) async throws -> EvidencePacket {
        let response = try await transport.send(.GET, path)
        return EvidencePacket(body: Data(response.body), signature: response.headers.first(name: "Zentra-Evidence-Signature") ?? "")
    }
}

/// A public key evidence packets are signed with (`GET /evidence/keys`).
public struct EvidenceKey: Codable, Hashable, Sendable {
    public let id: String
    public let algorithm: String
    /// Base64 of the 32 raw bytes of the Ed25519 public key.
    public let publicKey: String

    public init(id: String, algorithm: String = "ed25519", publicKey: String) {
        self.id = id
        self.algorithm = algorithm
        self.publicKey = publicKey
    }

    enum CodingKeys: String, CodingKey {
        case id, algorithm
        case publicKey = "public_key"
    }
}

/// Checks evidence packets offline against published keys. Keys stay published after a rotation,
/// so a packet signed years ago verifies with the key list of today.
public struct EvidenceVerifier: Sendable {
    public enum VerificationError: Error, Sendable, Hashable {
        case malformedSignatureHeader
        /// The packet names a key the list does not hold.
        case unknownKey(String)
        case unsupportedAlgorithm(String)
        case invalidKey(String)
        /// The bytes are not what the key signed.
        case badSignature
    }

    public let keys: [EvidenceKey]

    public init(keys: [EvidenceKey]) { self.keys = keys }

    /// The key the packet names, after checking its signature over the exact body bytes.
    @discardableResult
    public func verify(_ packet: EvidencePacket) throws -> EvidenceKey {
        try verify(body: packet.body, signatureHeader: packet.signature)
    }

    @discardableResult
    public func verify(body: some DataProtocol, signatureHeader: String) throws -> EvidenceKey {
        let (keyID, signature) = try Self.parse(signatureHeader)
        guard let key = keys.first(where: { $0.id == keyID }) else { throw VerificationError.unknownKey(keyID) }
        guard key.algorithm == "ed25519" else { throw VerificationError.unsupportedAlgorithm(key.algorithm) }
        guard let raw = Data(base64Encoded: key.publicKey), let publicKey = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) else {
            throw VerificationError.invalidKey(key.id)
        }
        guard publicKey.isValidSignature(signature, for: Data(body)) else { throw VerificationError.badSignature }
        return key
    }

    /// `keyid=<id>,ed25519=<base64>` as its key id and signature bytes.
    static func parse(_ header: String) throws -> (String, Data) {
        var parts: [String: String] = [:]
        for part in header.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if pair.count == 2 { parts[pair[0]] = pair[1] }
        }
        guard let keyID = parts["keyid"], let encoded = parts["ed25519"], let signature = Data(base64Encoded: encoded) else {
            throw VerificationError.malformedSignatureHeader
        }
        return (keyID, signature)
    }
}

/// `zentra.evidence`: the published keys, and packets checked against them.
public struct EvidenceKeys: Sendable {
    let transport: Transport

    /// Every key evidence has been signed with, oldest first; the last signs now.
    public func keys() async throws -> [EvidenceKey] {
        struct Keys: Decodable { let keys: [EvidenceKey] }
        let list: Keys = try await transport.get("/evidence/keys")
        return list.keys
    }

    /// Checks a packet against the keys the server publishes now.
    @discardableResult
    public func verify(_ packet: EvidencePacket) async throws -> EvidenceKey {
        try EvidenceVerifier(keys: try await keys()).verify(packet)
    }
}
