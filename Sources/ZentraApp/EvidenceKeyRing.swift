import Crypto
import Foundation
import ZentraCore
import ZentraStorage

/// The platform's Ed25519 keys for evidence packets. The newest key signs; every older key stays
/// published (`GET /evidence/keys`) so that a packet signed before a rotation still verifies offline.
///
/// Kept as base64 Ed25519 seeds (32 bytes), one per line of a key file created (0600) on first start,
/// or a comma-separated list in `ZENTRA_EVIDENCE_SIGNING_KEYS`; the last one signs. Every process of a
/// deployment needs the same ring. A key's id is derived from its public key, so it never drifts.
public struct EvidenceKeyRing: Sendable {
    public struct Key: Sendable, Encodable {
        public let id: String
        public let algorithm = "ed25519"
        /// Base64 of the 32 raw bytes of the public key.
        public let publicKey: String
        let seed: [UInt8]

        enum CodingKeys: String, CodingKey { case id, algorithm, publicKey }

        init(seed: [UInt8]) throws(DomainError) {
            guard seed.count == 32, let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: seed) else {
                throw DomainError.invalidRequest("an evidence signing key must be 32 bytes (an Ed25519 seed) in base64")
            }
            let publicBytes = Array(key.publicKey.rawRepresentation)
            self.seed = seed
            self.publicKey = Data(publicBytes).base64EncodedString()
            self.id = "ek_" + Hex.encode(Array(SHA256.hash(data: publicBytes).prefix(8)))
        }
    }

    /// Oldest first; the last signs.
    public let keys: [Key]
    public var current: Key { keys[keys.count - 1] }

    public init(seeds: [[UInt8]]) throws(DomainError) {
        guard !seeds.isEmpty else { throw DomainError.invalidRequest("the evidence key ring has no key") }
        var keys: [Key] = []
        for seed in seeds { keys.append(try Key(seed: seed)) }
        self.keys = keys
    }

    /// Seeds in base64, separated by commas or line breaks.
    public init(text: String) throws(DomainError) {
        var seeds: [[UInt8]] = []
        for part in text.split(whereSeparator: { $0 == "," || $0.isNewline }) {
            let trimmed = part.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            guard let data = Data(base64Encoded: trimmed) else { throw DomainError.invalidRequest("an evidence signing key is not base64") }
            seeds.append(Array(data))
        }
        try self.init(seeds: seeds)
    }

    public static func random() -> EvidenceKeyRing {
        try! EvidenceKeyRing(seeds: [Self.newSeed()])
    }

    static func newSeed() -> [UInt8] { Array(Curve25519.Signing.PrivateKey().rawRepresentation) }

    /// Signs the exact bytes of a packet: the value of the `Zentra-Evidence-Signature` header.
    public func signatureHeader(for body: [UInt8]) throws -> String {
        let key = try Curve25519.Signing.PrivateKey(rawRepresentation: current.seed)
        return "keyid=\(current.id),ed25519=\(try key.signature(for: body).base64EncodedString())"
    }

    /// The id of the ring's key whose Ed25519 signature in `header` covers `body`, or nil: the check
    /// a receiver makes with the keys `GET /evidence/keys` publishes.
    public func verify(body: [UInt8], header: String) -> String? {
        var fields: [Substring: Substring] = [:]
        for part in header.split(separator: ",") {
            guard let equals = part.firstIndex(of: "=") else { return nil }
            fields[part[..<equals]] = part[part.index(after: equals)...]
        }
        guard let keyID = fields["keyid"], let signature = fields["ed25519"].flatMap({ Data(base64Encoded: String($0)) }),
            let key = keys.first(where: { $0.id == keyID }), let publicBytes = Data(base64Encoded: key.publicKey),
            let publicKey = try? Curve25519.Signing.PublicKey(rawRepresentation: publicBytes),
            publicKey.isValidSignature(signature, for: body) else { return nil }
        return key.id
    }

    /// Reads the key file, or creates it (0600, one new key) when it does not exist. A key file
    /// others may read is refused.
    public static func loadOrCreate(file path: String) throws -> EvidenceKeyRing {
        try EvidenceKeyRing(text: String(decoding: try PrivateFile.readOrCreate(path) { EvidenceKeyRing.random().text }, as: UTF8.self))
    }

    /// A new signing key added after the others: what it signs from now on uses the new key, and
    /// every packet signed before still verifies with its own.
    public func rotated() -> EvidenceKeyRing {
        try! EvidenceKeyRing(seeds: keys.map(\.seed) + [Self.newSeed()])
    }

    /// Replaces the key file with this ring.
    public func write(to path: String) throws {
        try PrivateFile.replace(path, contents: text)
    }

    /// The key file's form: one base64 seed per line.
    var text: [UInt8] { Array((keys.map { Data($0.seed).base64EncodedString() }.joined(separator: "\n") + "\n").utf8) }
}
