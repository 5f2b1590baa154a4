import Foundation
import Testing
import ZentraApp
import ZentraCore
import ZentraTestSupport

extension AuthorizationFixture {
    func sendFile(_ id: String, _ csv: String, lines: String? = nil) async throws -> TestReply {
        try await env.request(.post, "/clearing-files?file_id=\(id)" + (lines.map { "&lines=\($0)" } ?? ""), json: csv, key: network,
                              headers: ["Content-Type": "text/csv"])
    }
}

@Suite struct ClearingFileTests {
    static let header = "clearing_id,authorization,network_reference,card,amount_minor,currency,merchant_id,merchant_name,mcc,country"

    /// A clearing file past the configured bytes or records is refused with 413 in the error shape.
    @Test(arguments: Backend.allCases)
    func filesPastTheLimitsAreRefused(_ backend: Backend) async throws {
        let limits = ClearingFileIngest.Limits(bytes_max: 2_048, records_max: 3)
        try await TestEnvironment.run(backend, configure: { $0.clearingFileLimits = limits }) { env in
            let f = try await AuthorizationFixture.make(env, fund: 100_000)
            let line = { (n: Int) in "c-\(n),,,\(f.card),100,USD,m1,Shop,5411,US" }
            let fits = try await f.sendFile("F-fits", ([Self.header] + (1...3).map(line)).joined(separator: "\n"))
            #expect(fits.status == .ok, "\(fits.text)")
            let many = try await f.sendFile("F-many", ([Self.header] + (1...4).map(line)).joined(separator: "\n"))
            #expect(many.status == .contentTooLarge && many.errorCode == "payload_too_large", "\(many.text)")
            #expect((many.json["error"] as? [String: Any])?["message"] as? String == ClearingFileIngest.tooLarge("3 records").message)
            let large = try await f.sendFile("F-large", ([Self.header] + (1...3).map { line($0) + String(repeating: " ", count: 700) }).joined(separator: "\n"))
            #expect(large.status == .contentTooLarge && large.errorCode == "payload_too_large", "\(large.text)")
        }
    }

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

    /// A window is planned set-based, in memory; each record must still see what the records before
    /// it in the window left (a hold already cleared, a transaction already made, a `clearing_id`
    /// already used), exactly as one `POST /clearings` each would.
    @Test(arguments: Backend.allCases)
    func aWindowClearsEachRecordAsOneRequestEachWould(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let byFile = try await AuthorizationFixture.make(env, fund: 10_000)
            let byRequest = try await AuthorizationFixture.make(env, fund: 10_000)
            // (clearing_id, amount, which authorization it names: an index into the three below, or none)
            let records: [(String, Int64, Int?)] = [
                ("k-1", 1_000, nil),   // the 1,000 hold, by card and amount
                ("k-2", 1_050, nil),   // the 1,000 is cleared now: the 1,100 is the closest hold left
                ("k-3", 3_000, 2),     // part of the 5,000 hold
                ("k-4", 2_500, 2),     // the same authorization again: its transaction grows, nothing is held
                ("k-1", 999, nil),     // a used clearing_id with another amount: refused, changes nothing
                ("k-5", 200, nil),     // no hold left: a force post
                ("k-6", 9_000, nil),   // more than the card has: the rest is owed by the cardholder
                ("k-3", 3_000, 2),     // a replay: the first answer
            ]
            func results(_ f: AuthorizationFixture, file: Bool) async throws -> [String] {
                var ids: [String] = []
                for amount: Int64 in [1_000, 1_100, 5_000] {
                    let auth = try await f.authorize(amount)
                    #expect(auth.json["status"] as? String == "approved", "\(auth.text)")
                    ids.append(auth.id)
                }
                var clearings: [[String: Any]?] = []
                if file {
                    let csv = ([Self.header] + records.map { id, amount, auth in
                        "file-\(id),\(auth.map { ids[$0] } ?? ""),,\(f.card),\(amount),USD,m1,Shop,5411,US"
                    }).joined(separator: "\n")
                    let reply = try await f.sendFile("W-\(f.card)", csv)
                    #expect(reply.status == .ok, "\(reply.text)")
                    for line in try #require(reply.json["lines"] as? [[String: Any]]) {
                        if let id = line["clearing"] as? String { clearings.append(try await env.get("/clearings/\(id)").json) }
                        else { clearings.append(["code": line["code"] as Any]) }
                    }
                } else {
                    for (id, amount, auth) in records {
                        let reply = try await f.clear(amount, clearingID: "request-\(id)", authorization: auth.map { ids[$0] })
                        clearings.append(reply.status.code < 300 ? reply.json : ["code": (reply.json["error"] as? [String: Any])?["code"] ?? reply.text])
                    }
                }
                // What is compared: each record's outcome, which earlier record's transaction it joined, the card's money.
                var transactions: [String] = []
                var outcome: [String] = []
                for clearing in clearings {
                    guard let clearing, let transaction = clearing["transaction"] as? String else {
                        outcome.append("refused \(clearing?["code"] as? String ?? "")")
                        continue
                    }
                    if !transactions.contains(transaction) { transactions.append(transaction) }
                    let authorization = (clearing["authorization"] as? String).flatMap { ids.firstIndex(of: $0) }
                    outcome.append("""
                        \(clearing["status"]!) \(clearing["match_method"]!) auth \(authorization.map(String.init) ?? "-") \
                        held \(clearing["authorized_minor"]!) delta \(clearing["delta_minor"]!) \
                        transaction \(transactions.firstIndex(of: transaction)!) case \(clearing["reconciliation_case"] is String)
                        """)
                }
                outcome.append("available \(try await f.available()) held \(try await f.held())")
                for id in ids {
                    let a = try await env.get("/authorizations/\(id)").json
                    outcome.append("\(a["status"]!) adjustments \((a["adjustments"] as? [Any])?.count ?? 0)")
                }
                #expect(try await f.ledgerVerified().ok)
                return outcome
            }
            let fromFile = try await results(byFile, file: true)
            let fromRequests = try await results(byRequest, file: false)
            #expect(fromFile == fromRequests)
            #expect(fromFile[1].hasPrefix("mismatched card_amount auth 1 held 1100 delta -50"), "\(fromFile)")
            #expect(fromFile[3].contains("transaction 2") && fromFile[2].contains("transaction 2"), "\(fromFile)")
            #expect(fromFile[4] == "refused clearing_id_reused", "\(fromFile)")
            #expect(fromFile[5].hasPrefix("unmatched none"), "\(fromFile)")
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
