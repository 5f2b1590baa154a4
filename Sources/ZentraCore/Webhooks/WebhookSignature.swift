import Crypto
import Foundation

/// Standard Webhooks signatures (standardwebhooks.com): `webhook-signature: v1,<base64 HMAC-SHA256>`
/// over `<webhook-id>.<webhook-timestamp>.<body>`, keyed by the bytes of a `whsec_<base64>` secret.
public enum WebhookSignature {
    public static let secretPrefix = "whsec_"

    public static func newSecret() -> String {
        secretPrefix + Data(SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }).base64EncodedString()
    }

    /// The `webhook-signature` header value; nil for a secret that is not `whsec_<base64>`.
    public static func sign(secret: String, messageID: String, timestampSeconds: Int64, body: [UInt8]) -> String? {
        guard secret.hasPrefix(secretPrefix), let key = Data(base64Encoded: String(secret.dropFirst(secretPrefix.count))) else { return nil }
        // In two parts: the body, the larger, is not copied for it.
        var hmac = HMAC<SHA256>(key: SymmetricKey(data: key))
        hmac.update(data: Array("\(messageID).\(timestampSeconds).".utf8))
        hmac.update(data: body)
        return "v1," + Data(hmac.finalize()).base64EncodedString()
    }
}
