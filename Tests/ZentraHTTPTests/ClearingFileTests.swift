import Foundation
import Testing
import ZentraCore

extension AuthorizationFixture {
    func sendFile(_ id: String, _ csv: String, lines: String? = nil) async throws -> TestReply {
        try await env.request(.post, "/clearing-files?file_id=\(id)" + (lines.map { "&lines=\($0)" } ?? ""), json: csv, key: network,
                              headers: ["Content-Type": "text/csv"])
    }
}

@Suite struct ClearingFileTests {
    static let header = "clearing_id,authorization,network_reference,card,amount_minor,currency,merchant_id,merchant_name,mcc,country"

    @Test(arguments: Backend.allCases)
    func eachLineIsItsOwnUnitBadLinesAreReportedAndASecondSendPostsNothing(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let f = try await AuthorizationFixture.make(env, fund: 100_000)
            let exact = try await f.authorize(1_000, reference: "r-exact")
            _ = try await f.authorize(2_000, reference: "r-partial")
            let csv = """
                \(Self.header)
                c-1,\(exact.id),,\(f.card),1000,USD,m1,Shop,5411,US
                c-2,,r-partial,\(f.card),1500,USD,m1,"Shop, ""The"" Best",5411,US
                c-3,,,\(f.card),777,USD,m2,Unknown,5999,US
                c-4,,,\(f.card),12.50,USD,m1,Shop,5411,US
                c-5,,,card_nope,100,USD,m1,Shop,5411,US
                c-6,,,\(f.card),100,XXX,m1,Shop,5411,US
                c-1,\(exact.id),,\(f.card),1000,USD,m1,Shop,5411,US
                c-7,,,\(f.card),100,USD,m1,"unclosed,5411,US
                """
            let reply = try await f.sendFile("F-1", csv)
            #expect(reply.status == .ok, "\(reply.text)")
            let counts = try #require(reply.json["counts"] as? [String: Int])
            #expect(counts == ["matched": 1, "mismatched": 1, "unmatched": 1, "duplicates": 1, "failed": 4], "\(reply.text)")
            let lines = try #require(reply.json["lines"] as? [[String: Any]])
            #expect(lines.map { $0["line"] as! Int } == [2, 3, 4, 5, 6, 7, 8, 9], "one result per record, in file order")
            #expect(lines.map { $0["result"] as! String } == ["matched", "mismatched", "unmatched", "failed", "failed", "failed", "duplicate", "failed"])
            #expect((lines[3]["reason"] as? String)?.contains("amount_minor") == true)
            #expect(lines[4]["code"] as? String == "resource_missing")
            #expect((lines[7]["reason"] as? String)?.contains("not closed") == true)
            #expect(lines[6]["clearing"] as? String == lines[0]["clearing"] as? String, "the duplicate names the first clearing")
            #expect(reply.json["replayed"] as? Bool == false && reply.json["runs"] as? Int == 1)
            let merchant = try await env.get("/clearings/\(lines[1]["clearing"] as! String)").json["merchant"] as? [String: Any]
            #expect(merchant?["name"] as? String == #"Shop, "The" Best"#, "quoted fields keep their commas and quotes")
            #expect(try await f.held() == 0)
            #expect(try await f.available() == 100_000 - 1_000 - 1_500 - 777)

            let footprint = try await env.footprint()
            let again = try await f.sendFile("F-1", csv)
            #expect(again.status == .ok, "\(again.text)")
            #expect(again.json["counts"] as? [String: Int] == ["matched": 0, "mismatched": 0, "unmatched": 0, "duplicates": 4, "failed": 4])
            #expect(again.json["replayed"] as? Bool == true && again.json["runs"] as? Int == 2)
            var after = try await env.footprint()
            #expect(after.removeValue(forKey: "events") == footprint["events"]! + 1, "only the file's own event")
            #expect(after.removeValue(forKey: "audit_log") == footprint["audit_log"]! + 1, "the run's result")
            #expect(after == footprint.filter { $0.key != "events" && $0.key != "audit_log" }, "a file sent twice posts nothing twice")

            let summary = try await env.get("/clearing-files/F-1")
            #expect(summary.status == .ok && summary.json["runs"] as? Int == 2 && summary.json["lines"] == nil)
            let exceptions = try await f.sendFile("F-2", Self.header + "\nc-9,,,\(f.card),5,USD,m1,Shop,5411,US\n", lines: "exceptions")
            #expect((exceptions.json["lines"] as? [[String: Any]])?.map { $0["result"] as! String } == ["unmatched"])
            #expect(try await f.ledgerVerified().ok)
        }
    }

    @Test(arguments: Backend.allCases)
    func aFileWithoutAUsableHeaderOrAsTheWrongTypeIsRefused(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let f = try await AuthorizationFixture.make(env, fund: 0)
            let missing = try await f.sendFile("F-3", "clearing_id,card\nx,y\n")
            #expect(missing.status == .badRequest && (missing.text.contains("amount_minor")), "\(missing.text)")
            #expect(try await f.sendFile("F-4", "").status == .badRequest)
            let json = try await env.request(.post, "/clearing-files?file_id=F-5", json: "{}", key: f.network)
            #expect(json.status == .unsupportedMediaType)
            #expect(try await env.request(.post, "/clearing-files", json: Self.header, key: f.network, headers: ["Content-Type": "text/csv"]).errorCode == "parameter_missing")
            #expect(try await f.sendFile("F-3", Self.header + "\n").json["counts"] as? [String: Int] != nil, "a refused run does not lock the file")
        }
    }
}
