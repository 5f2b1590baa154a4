import Crypto
import Foundation

/// Checks the signature of a webhook Zentra sent (Standard Webhooks): `webhook-signature` holds one
/// or more space-separated `v1,<base64 HMAC-SHA256>` over `<webhook-id>.<webhook-timestamp>.<body>`.
///
/// ```swift
/// let payload = try Webhook(secret: "whsec_…").verify(payload: body, headers: headers)
/// ```
/// While a secret is being rotated, pass both (`Webhook(secrets: [new, old])`): a delivery signed
/// by either passes.
public struct Webhook: Sendable {
    /// How far `webhook-timestamp` may be from now, either way: older messages are replays.
    public static let tolerance: Duration = .seconds(300)

    /// Why a webhook did not verify.
    public enum VerificationError: Error, Sendable, Hashable {
        case invalidSecret
        case missingHeader(String)
        case invalidTimestamp
        case timestampTooOld
        case timestampTooNew
        case noMatchingSignature
        case invalidPayload
    }

    private let keys: [[UInt8]]

    /// - Parameter secret: `whsec_` + base64, as the endpoint's creation answered it (the bare base64 works too).
    public init(secret: String) throws {
        try self.init(secrets: [secret])
    }

    /// Several secrets: a signature made with any of them passes.
    public init(secrets: [String]) throws {
        var keys: [[UInt8]] = []
        for secret in secrets {
            let encoded = secret.hasPrefix("whsec_") ? String(secret.dropFirst("whsec_".count)) : secret
            guard let bytes = Data(base64Encoded: encoded), !bytes.isEmpty else { throw VerificationError.invalidSecret }
            keys.append(Array(bytes))
        }
        guard !keys.isEmpty else { throw VerificationError.invalidSecret }
        self.keys = keys
    }

    /// Verifies a delivery and answers its payload as JSON. Throws `VerificationError` unless one
    /// signature matches and the timestamp is within `tolerance` of `now`.
    /// - Parameter headers: the request's headers; names are matched without regard to case.
    @discardableResult
    public func verify(payload: some DataProtocol, headers: [String: String], now: Date = Date()) throws -> JSONValue {
        let body = Array(payload)
        try check(body: body, headers: headers, now: now)
        guard let json = try? JSONCoding.decoder.decode(JSONValue.self, from: Data(body)) else { throw VerificationError.invalidPayload }
        return json
    }

    @discardableResult
    public func verify(payload: String, headers: [String: String], now: Date = Date()) throws -> JSONValue {
        try verify(payload: Array(payload.utf8), headers: headers, now: now)
    }

    /// Verifies a delivery of a Zentra event and decodes it.
    public func event(payload: some DataProtocol, headers: [String: String], now: Date = Date()) throws -> Event {
        let body = Array(payload)
        try check(body: body, headers: headers, now: now)
        return try JSONCoding.decoder.decode(Event.self, from: Data(body))
    }

    private func check(body: [UInt8], headers: [String: String], now: Date) throws {
        func header(_ name: String) throws -> String {
            guard let value = headers.first(where: { $0.key.lowercased() == name })?.value else { throw VerificationError.missingHeader(name) }
            return value
        }
        let id = try header("webhook-id")
        let timestamp = try header("webhook-timestamp")
        let signatures = try header("webhook-signature")
        guard let seconds = Int64(timestamp.trimmingCharacters(in: .whitespaces)) else { throw VerificationError.invalidTimestamp }
        let tolerance = Double(Self.tolerance.components.seconds)
        let age = now.timeIntervalSince1970 - Double(seconds)
        if age > tolerance { throw VerificationError.timestampTooOld }
        if age < -tolerance { throw VerificationError.timestampTooNew }

        var signed = Array("\(id).\(seconds).".utf8)
        signed.append(contentsOf: body)
        let offered = signatures.split(separator: " ").compactMap { entry -> Data? in
            let parts = entry.split(separator: ",", maxSplits: 1)
            guard parts.count == 2, parts[0] == "v1" else { return nil }
            return Data(base64Encoded: String(parts[1]))
        }
        for key in keys {
            for signature in offered where HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: signed, using: SymmetricKey(data: key)) {
                return
            }
        }
        throw VerificationError.noMatchingSignature
    }
}
