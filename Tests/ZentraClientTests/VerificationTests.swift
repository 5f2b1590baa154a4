import Crypto
import Foundation
import Testing
import ZentraApp
import ZentraClient
import Synchronization
import ZentraCore

/// The offline checks: webhook signatures (Standard Webhooks) and signed evidence packets.
@Suite struct WebhookVerificationTests {
    static let secret = WebhookSignature.newSecret()
    static let body = Array(#"{"id":"evt_1","object":"event","type":"card.issued","sequence":1,"data":{"object":{"id":"card_1"}}}"#.utf8)
    static let now = Date(timeIntervalSince1970: 1_796_000_000)

    /// Headers as the server's own signer makes them.
    static func headers(secret: String = secret, id: String = "evt_1", at seconds: Int64 = 1_796_000_000,
                        body: [UInt8] = body) -> [String: String] {
        ["Webhook-Id": id, "Webhook-Timestamp": String(seconds),
         "Webhook-Signature": WebhookSignature.sign(secret: secret, messageID: id, timestampSeconds: seconds, body: body)!]
    }

    @Test func aDeliveryTheServerSignedVerifies() throws {
        let payload = try Webhook(secret: Self.secret).verify(payload: Self.body, headers: Self.headers(), now: Self.now)
        #expect(payload["type"]?.stringValue == "card.issued")
        let event = try Webhook(secret: Self.secret).event(payload: Self.body, headers: Self.headers(), now: Self.now)
        #expect(event.id == "evt_1" && event.object?["id"]?.stringValue == "card_1")
    }

    @Test func aChangedByteAnotherSecretOrAnotherIdFails() throws {
        var tampered = Self.body
        tampered[tampered.count - 3] = UInt8(ascii: "2")
        #expect(throws: Webhook.VerificationError.noMatchingSignature) {
            try Webhook(secret: Self.secret).verify(payload: tampered, headers: Self.headers(), now: Self.now)
        }
        #expect(throws: Webhook.VerificationError.noMatchingSignature) {
            try Webhook(secret: WebhookSignature.newSecret()).verify(payload: Self.body, headers: Self.headers(), now: Self.now)
        }
        var otherID = Self.headers()
        otherID["Webhook-Id"] = "evt_2"
        #expect(throws: Webhook.VerificationError.noMatchingSignature) {
            try Webhook(secret: Self.secret).verify(payload: Self.body, headers: otherID, now: Self.now)
        }
        #expect(throws: Webhook.VerificationError.missingHeader("webhook-signature")) {
            try Webhook(secret: Self.secret).verify(payload: Self.body, headers: ["webhook-id": "evt_1", "webhook-timestamp": "1"], now: Self.now)
        }
        #expect(throws: Webhook.VerificationError.invalidSecret) { try Webhook(secret: "whsec_not base64!") }
    }

    @Test func timestampsOutsideFiveMinutesAreRefused() throws {
        let webhook = try Webhook(secret: Self.secret)
        for (offset, expected) in [(-301, Webhook.VerificationError.timestampTooOld), (301, .timestampTooNew)] {
            #expect(throws: expected) {
                try webhook.verify(payload: Self.body, headers: Self.headers(at: 1_796_000_000 + Int64(offset)), now: Self.now)
            }
        }
        for offset: Int64 in [-299, 299] {
            try webhook.verify(payload: Self.body, headers: Self.headers(at: 1_796_000_000 + offset), now: Self.now)
        }
    }

    @Test func anyOfSeveralSignaturesAndAnyOfSeveralSecretsPasses() throws {
        let old = WebhookSignature.newSecret()
        var headers = Self.headers()
        let oldSignature = Self.headers(secret: old)["Webhook-Signature"]!
        // During a rotation the server signs with both secrets.
        headers["Webhook-Signature"] = "v1,bm90IGEgc2lnbmF0dXJl \(oldSignature) \(headers["Webhook-Signature"]!)"
        try Webhook(secret: Self.secret).verify(payload: Self.body, headers: headers, now: Self.now)
        try Webhook(secret: old).verify(payload: Self.body, headers: headers, now: Self.now)
        // A receiver that holds both secrets accepts a delivery signed by either.
        try Webhook(secrets: [WebhookSignature.newSecret(), old]).verify(payload: Self.body, headers: Self.headers(secret: old), now: Self.now)
    }
}

@Suite struct EvidenceVerificationTests {
    @Test func packetsVerifyAcrossAKeyRotationAndATamperedOneFails() async throws {
        let before = EvidenceKeyRing.random()
        let after = before.rotated()
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("zentra-sdk-evidence-\(UUID().uuidString).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }

        let first = LockedBox<(EvidencePacket, String)?>(nil)
        try await LiveServer.run(database: path, configure: { $0.evidenceKeys = before }) { server in
            let zentra = server.client()
            let f = try await Fixture.make(zentra)
            _ = try await zentra.cards.fund(f.card.id, amountMinor: 10_000, transactionReference: "fund-1")
            let network = server.client(key: try await zentra.apiKeys.create(role: .network).apiKey)
            let authorization = try await network.authorizations.create(card: f.card.id, amountMinor: 2_500, currency: "USD",
                                                                        merchant: .coffee, channel: .online, networkReference: "nr-1")
            first.set((try await zentra.authorizations.evidence(authorization.id), authorization.id))
        }
        let (old, authorizationID) = try #require(first.get())

        try await LiveServer.run(database: path, configure: { $0.evidenceKeys = after }) { server in
            let zentra = server.client()
            let keys = try await zentra.evidence.keys()
            #expect(keys.map(\.id) == after.keys.map(\.id), "the old key stays published")
            let verifier = EvidenceVerifier(keys: keys)
            #expect(try verifier.verify(old).id == before.current.id, "signed before the rotation, with the old key")
            #expect(old.json["authorization"]?.stringValue == authorizationID)

            let network = server.client(key: try await zentra.apiKeys.create(role: .network).apiKey)
            let f = try await Fixture.make(zentra)
            _ = try await zentra.cards.fund(f.card.id, amountMinor: 10_000, transactionReference: "fund-2")
            let fresh = try await network.authorizations.create(card: f.card.id, amountMinor: 100, currency: "USD", merchant: .coffee,
                                                                channel: .online, networkReference: "nr-2")
            let packet = try await zentra.authorizations.evidence(fresh.id)
            #expect(try await zentra.evidence.verify(packet).id == after.current.id, "signed after, with the new key")

            var bytes = Array(packet.body)
            let digit = try #require(bytes.firstIndex(of: UInt8(ascii: "1")))
            bytes[digit] = UInt8(ascii: "2")
            #expect(throws: EvidenceVerifier.VerificationError.badSignature) {
                try verifier.verify(EvidencePacket(body: Data(bytes), signature: packet.signature))
            }
            #expect(throws: EvidenceVerifier.VerificationError.unknownKey("ek_nobody")) {
                try EvidenceVerifier(keys: keys).verify(body: packet.body, signatureHeader: "keyid=ek_nobody,ed25519=AAAA")
            }
        }
    }
}

/// A value handed out of a `@Sendable` closure.
final class LockedBox<Value: Sendable>: Sendable {
    private let value: Mutex<Value>
    init(_ value: Value) { self.value = Mutex(value) }
    func set(_ new: Value) { value.withLock { $0 = new } }
    func get() -> Value { value.withLock { $0 } }
}

/// `ZentraError.Code` and the codes the server documents (`openapi.yaml`, the Error schema) are the same list.
@Suite struct ErrorCatalogTests {
    @Test func everyDocumentedCodeHasACaseAndEveryCaseIsDocumented() throws {
        let openAPI = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Sources/ZentraHTTP/Resources/openapi.yaml")
        let text = try String(contentsOf: openAPI, encoding: .utf8)
        let line = try #require(text.split(separator: "\n").first { $0.contains("code: {type: string, enum:") })
        let list = try #require(line.split(separator: "[").last?.split(separator: "]").first)
        let documented = Set(list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        let cased = Set(ZentraError.Code.known.map(\.rawValue))
        #expect(documented.subtracting(cased).isEmpty, "documented without a case")
        #expect(cased.subtracting(documented).isEmpty, "a case the server does not document")
        for code in documented { #expect(ZentraError.Code(rawValue: code) != .unknown(code)) }
    }
}
