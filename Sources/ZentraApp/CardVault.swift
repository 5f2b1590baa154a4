import Crypto
import Foundation
import ZentraCore
import ZentraStorage

/// The key that protects card data. From `ZENTRA_CARD_DATA_KEY` (base64 of 32 bytes) or a key file
/// created on first start with 0600 permissions. Every process of one deployment needs the same key.
public struct CardDataKey: Sendable {
    /// Derived key bytes (`SymmetricKey` is not `Sendable`); keys are rebuilt on use, which is cheap.
    private let encryptionBytes: [UInt8]
    private let lookupBytes: [UInt8]

    var encryption: SymmetricKey { SymmetricKey(data: encryptionBytes) }
    var lookup: SymmetricKey { SymmetricKey(data: lookupBytes) }

    public init(raw: [UInt8]) throws(DomainError) {
        guard raw.count == 32 else { throw DomainError.invalidRequest("the card data key must be 32 bytes") }
        let master = SymmetricKey(data: raw)
        // Separate keys for sealing and for the PAN lookup hash, derived from the one secret.
        encryptionBytes = HKDF<SHA256>.deriveKey(inputKeyMaterial: master, info: Data("zentra card data v1".utf8), outputByteCount: 32)
            .withUnsafeBytes { Array($0) }
        lookupBytes = HKDF<SHA256>.deriveKey(inputKeyMaterial: master, info: Data("zentra pan lookup v1".utf8), outputByteCount: 32)
            .withUnsafeBytes { Array($0) }
    }

    public init(base64: String) throws(DomainError) {
        guard let data = Data(base64Encoded: base64.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw DomainError.invalidRequest("the card data key is not base64")
        }
        try self.init(raw: Array(data))
    }

    public static func random() -> CardDataKey {
        try! CardDataKey(raw: SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) })
    }

    /// Reads the key file, or creates it (0600, 32 random bytes in base64) when it does not exist.
    /// A key file others may read is refused.
    public static func loadOrCreate(file path: String) throws -> CardDataKey {
        let text = try PrivateFile.readOrCreate(path) {
            Array(Data(SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }).base64EncodedString().utf8)
        }
        return try CardDataKey(base64: String(decoding: text, as: UTF8.self))
    }
}

/// Seals PAN and CVV with AES-GCM (the tenant id as associated data, so sealed data cannot be moved
/// to another tenant) and computes the keyed PAN hash cards are found by. Plain PANs exist only in
/// memory, on their way in or out.
public struct CardVault: Sendable {
    let key: CardDataKey

    public init(key: CardDataKey) {
        self.key = key
    }

    struct Secret: Codable {
        let pan: String
        let cvv: String
    }

    public func seal(pan: String, cvv: String, tenant: TenantID) throws -> [UInt8] {
        let plaintext = try JSONEncoder().encode(Secret(pan: pan, cvv: cvv))
        let box = try AES.GCM.seal(plaintext, using: key.encryption, authenticating: Data(tenant.rawValue.utf8))
        guard let combined = box.combined else { throw DomainError.invariantViolated("AES-GCM produced no combined form") }
        return Array(combined)
    }

    public func open(_ sealed: [UInt8], tenant: TenantID) throws -> (pan: String, cvv: String) {
        let box = try AES.GCM.SealedBox(combined: sealed)
        let secret = try JSONDecoder().decode(Secret.self, from: try AES.GCM.open(box, using: key.encryption, authenticating: Data(tenant.rawValue.utf8)))
        return (secret.pan, secret.cvv)
    }

    /// Seals any other secret (a webhook signing secret) under the same key, bound to its tenant and purpose.
    public func seal(secret: String, tenant: TenantID, purpose: String) throws -> [UInt8] {
        let box = try AES.GCM.seal(Data(secret.utf8), using: key.encryption, authenticating: Data("\(tenant.rawValue)|\(purpose)".utf8))
        guard let combined = box.combined else { throw DomainError.invariantViolated("AES-GCM produced no combined form") }
        return Array(combined)
    }

    public func open(secret sealed: [UInt8], tenant: TenantID, purpose: String) throws -> String {
        let box = try AES.GCM.SealedBox(combined: sealed)
        return String(decoding: try AES.GCM.open(box, using: key.encryption, authenticating: Data("\(tenant.rawValue)|\(purpose)".utf8)), as: UTF8.self)
    }

    /// HMAC-SHA256 of the PAN (hex): unique per card across the platform, useless without the key.
    public func lookupHash(pan: String) -> String {
        Hex.encode(HMAC<SHA256>.authenticationCode(for: Data(pan.utf8), using: key.lookup))
    }
}
