import Foundation
import HTTPTypes
import NIOCore
import Testing
import ZentraCore

/// Hostile bodies through the whole server: mutated JSON to a write endpoint, mutated CSV to the
/// clearing-file endpoint. Never a 5xx; every refusal a 4xx in the error shape of `docs/conventions.md`.
@Suite struct BodyFuzzTests {
    static func send(_ env: TestEnvironment, _ path: String, _ body: [UInt8], key: String, contentType: String) async throws -> TestReply {
        let headers: HTTPFields = [.authorization: "Bearer \(key)", .contentType: contentType]
        return try await env.client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(bytes: body)) { response in
            TestReply(status: response.status, headers: response.headers, body: Array(response.body.readableBytesView))
        }
    }

    static func expectRefusalShape(_ reply: TestReply, _ input: [UInt8]) {
        #expect(reply.status.code < 500, "\(reply.status) for \(String(decoding: input, as: UTF8.self)): \(reply.text)")
        guard reply.status.code >= 400 else { return }
        let error = reply.json["error"] as? [String: Any] ?? [:]
        #expect(error["code"] is String && error["type"] is String && error["message"] is String && error["request_id"] is String,
                "the error shape: \(reply.text)")
    }

    @Test func mutatedJSONBodiesAreRefusedCleanly() async throws {
        try await TestEnvironment.run(.sqlite) { env in
            let customer = try await env.createCustomer()
            let seeds = [
                #"{"name": "Ada Lovelace", "email": "ada@example.com", "kyc_status": "verified"}"#,
                #"{"customer": "\#(customer)", "currency": "USD", "kind": "wallet"}"#,
                #"{"name": "Gold", "currency": "USD", "bin": "42424242", "spend_controls": {"daily_minor": 100000, "blocked_mccs": ["gambling"]}, "review_rules": [{"type": "amount_over", "amount_minor": 5000}]}"#,
            ]
            let paths = ["/customers", "/accounts", "/card-programs"]
            for (seed, path) in zip(seeds, paths) {
                // A quote, a backslash, a brace, a NUL, a lone UTF-8 continuation byte, a digit.
                for body in Mutations.of(Array(seed.utf8), replacing: [0x22, 0x5C, 0x7D, 0x00, 0x80, 0x39]) {
                    Self.expectRefusalShape(try await Self.send(env, path, body, key: env.adminKey, contentType: "application/json"), body)
                }
            }
        }
    }

    @Test func mutatedClearingFilesAreAnsweredLineByLine() async throws {
        try await TestEnvironment.run(.sqlite) { env in
            let f = try await AuthorizationFixture.make(env, fund: 100_000)
            let auth = try await f.authorize(1_000)
            let csv = ClearingFileTests.header + "\n"
                + "c-1,\(auth.id),,\(f.card),1000,USD,m_1,\"Shop, Inc\",5411,US\n"
                + "c-2,,,\(f.card),250,USD,m_2,Other,5999,US\n"
            // A quote, a comma, a line break, an invalid UTF-8 byte.
            for (round, body) in Mutations.of(Array(csv.utf8), replacing: [0x22, 0x2C, 0x0A, 0xFF]).enumerated() {
                Self.expectRefusalShape(try await Self.send(env, "/clearing-files?file_id=fuzz-\(round)", body, key: f.network,
                                                            contentType: "text/csv"), body)
            }
            let ledger = try await env.get("/ledger/accounts?limit=100").list
            let debits = ledger.compactMap { $0["debits_minor"] as? Int64 ?? ($0["debits_minor"] as? Int).map(Int64.init) }.reduce(0, +)
            let credits = ledger.compactMap { $0["credits_minor"] as? Int64 ?? ($0["credits_minor"] as? Int).map(Int64.init) }.reduce(0, +)
            #expect(debits == credits, "whatever was posted balances")
        }
    }
}

/// Every cut and every byte swapped for a hostile one, position by position: exhaustive and
/// deterministic where random mutations (the core's parser fuzz tests) sample.
enum Mutations {
    static func of(_ bytes: [UInt8], replacing hostile: [UInt8]) -> [[UInt8]] {
        var all: [[UInt8]] = []
        for index in bytes.indices {
            all.append(Array(bytes.prefix(index)))
            for byte in hostile where byte != bytes[index] {
                var changed = bytes
                changed[index] = byte
                all.append(changed)
            }
        }
        return all
    }
}
