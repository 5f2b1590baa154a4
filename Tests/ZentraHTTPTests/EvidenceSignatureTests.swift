import Crypto
import Foundation
import Synchronization
import Testing
import ZentraApp
import ZentraCore
import ZentraTestSupport

/// Evidence packets are signed with Ed25519 over their exact bytes; the public keys are published,
/// a changed byte fails the check, and packets signed before a key rotation still verify.
@Suite struct EvidenceSignatureTests {
    /// Checks a packet the way an offline verifier would: the header's key id found among the published keys.
    static func verify(_ reply: TestReply, keys: [[String: Any]], body: [UInt8]? = nil) throws -> Bool {
        let header = try #require(reply.headers[.init("Zentra-Evidence-Signature")!])
        #expect(reply.headers[.init("Cache-Control")!] == "no-store", "evidence is kept by no cache")
        var parts: [String: String] = [:]
        for part in header.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
            if pair.count == 2 { parts[pair[0]] = pair[1] }
        }
        let key = try #require(keys.first { $0["id"] as? String == parts["keyid"] }, "key \(parts["keyid"] ?? "?") is published")
        #expect(key["algorithm"] as? String == "ed25519")
        let rawKey = try #require(Data(base64Encoded: key["public_key"] as? String ?? ""))
        let signature = try #require(Data(base64Encoded: parts["ed25519"] ?? ""))
        return try Curve25519.Signing.PublicKey(rawRepresentation: rawKey).isValidSignature(signature, for: Data(body ?? reply.body))
    }

    @Test(arguments: Backend.allCases)
    func everyEvidencePacketIsSignedAndATamperedOneFails(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let f = try await AuthorizationFixture.make(env, fund: 10_000)
            let auth = try await f.authorize(1_000)
            let cleared = try await f.clear(1_200, authorization: auth.id)
            let dispute = try await f.openDispute(cleared.json["transaction"] as! String, 100, provisional: false)
            let keys = try await env.request(.get, "/evidence/keys", key: "").json["keys"] as? [[String: Any]] ?? []
            #expect(keys.count == 1 && (keys[0]["id"] as? String)?.hasPrefix("ek_") == true)
            for path in ["/authorizations/\(auth.id)/evidence", "/clearings/\(cleared.id)/evidence",
                         "/reconciliation-cases/\(cleared.json["reconciliation_case"] as! String)/evidence", "/disputes/\(dispute.id)/evidence"] {
                let packet = try await env.get(path)
                #expect(packet.status == .ok, "\(path): \(packet.text)")
                #expect(try Self.verify(packet, keys: keys), "\(path) verifies")
                var tampered = packet.body
                if let digit = tampered.firstIndex(of: UInt8(ascii: "1")) { tampered[digit] = UInt8(ascii: "2") }
                #expect(try !Self.verify(packet, keys: keys, body: tampered), "\(path): one changed byte fails")
            }
        }
    }

    @Test func packetsSignedBeforeARotationStillVerify() async throws {
        let before = EvidenceKeyRing.random()
        let after = before.rotated()
        #expect(after.keys.count == 2 && after.keys[0].id == before.current.id && after.current.id != before.current.id)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("zentra-evidence-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try after.write(to: path)
        #expect(try EvidenceKeyRing.loadOrCreate(file: path).keys.map(\.id) == after.keys.map(\.id), "the ring reads back as written")
        #expect((try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) == 0o600)

        let signedBefore = Mutex<TestReply?>(nil)
        let database = try await Backend.sqlite.makeDatabaseURL()
        try await TestEnvironment.run(database: database, configure: { $0.evidenceKeys = before }) { env in
            let f = try await AuthorizationFixture.make(env, fund: 1_000)
            let packet = try await env.get("/authorizations/\(try await f.authorize(100).id)/evidence")
            signedBefore.withLock { $0 = packet }
        }
        let old = try #require(signedBefore.withLock { $0 })
        try await TestEnvironment.run(database: database, configure: { $0.evidenceKeys = after }) { env in
            let keys = try await env.request(.get, "/evidence/keys", key: "").json["keys"] as? [[String: Any]] ?? []
            #expect(keys.map { $0["id"] as? String } == after.keys.map(\.id), "old and new keys, oldest first")
            #expect(try Self.verify(old, keys: keys), "a packet signed with the old key still verifies")
            #expect(old.headers[.init("Zentra-Evidence-Signature")!]?.contains(before.current.id) == true)
        }
    }
}

/// `GET /authorizations/{id}/replay` decides real decisions again from their recorded inputs.
@Suite struct ReplayTests {
    @Test(arguments: Backend.allCases)
    func recordedDecisionsReplayToTheSameTraceAndATamperedOneDoesNot(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let controls = #", "spend_controls": {"daily_minor": 5000, "blocked_mccs": ["gambling"]}, "review_rules": [{"type": "amount_over", "amount_minor": 3000}]"#
            let f = try await AuthorizationFixture.make(env, program: controls, card: #", "geofence_enabled": true, "geofence_radius_km": 50"#,
                                                        type: "physical", fund: 10_000)
            let decisions = [
                try await f.authorize(1_000),
                try await f.authorize(3_500),
                try await f.authorize(100, mcc: "7995"),
                try await f.authorize(100, channel: "in_store", merchantLocation: #", "lat": 52.52, "lon": 13.40"#,
                                      device: #", "device_location": {"lat": 48.85, "lon": 2.35}"#),
                try await f.authorize(100, channel: "in_store", merchantLocation: #", "lat": 52.52, "lon": 13.40"#),
                try await f.authorize(9_000),
            ]
            #expect(Set(decisions.compactMap(\.status_)) == ["approved", "review", "declined"], "\(decisions.map(\.text))")
            for decision in decisions {
                let replay = try await env.get("/authorizations/\(decision.id)/replay")
                #expect(replay.status == .ok && replay.json["agrees"] as? Bool == true, "\(decision.id): \(replay.text)")
            }
            let evidence = try await env.get("/authorizations/\(decisions[0].id)/evidence").json
            #expect((evidence["policy_input"] as? [String: Any])?["amount_minor"] as? Int == 1_000)

            try await env.store.engine.withTransaction { sql in
                // The first rule's kept outcome turned into a failure: the record now says declined.
                try await sql.execute("UPDATE authorizations SET rule_outcomes = 'f' || substr(rule_outcomes, 2) WHERE id = \(decisions[0].id)")
            }
            #expect(try await env.get("/authorizations/\(decisions[0].id)/replay").json["agrees"] as? Bool == false,
                    "a recorded decision changed after the fact no longer agrees with its inputs")
        }
    }
}
