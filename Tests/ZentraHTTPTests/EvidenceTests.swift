import Foundation
import Testing
import ZentraCore
import ZentraStorage
import ZentraTestSupport

@Suite struct EvidenceTests {
    @Test(arguments: Backend.allCases)
    func everyStateChangeWritesOrderedEventsAndAChainedAuditRecord(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let customer = try await env.createCustomer(kyc: "pending")
            let operatorKey = try await env.createKey(role: "operator")
            _ = try await env.post("/customers/\(customer)/kyc", #"{"status": "verified"}"#, key: operatorKey)
            let account = try await env.createAccount(customer: customer)
            let deposit = try await env.deposit(account, 4_200, reference: "evt", idempotencyKey: "idem-evt")

            let events = try await env.get("/events?limit=100").list
            #expect(events.map { $0["type"] as! String } == ["deposit.created", "account.created", "customer.kyc_updated", "customer.created"])
            #expect(events.map { $0["sequence"] as! Int } == [4, 3, 2, 1])
            let payload = try #require((events[0]["data"] as? [String: Any])?["object"] as? [String: Any])
            #expect(payload["id"] as? String == deposit.id)
            #expect(try await env.get("/events/\(events[0]["id"] as! String)").json["type"] as? String == "deposit.created")

            let audit = try await env.get("/audit-log?limit=100").list
            let kyc = try #require(audit.first { $0["action"] as? String == "customer.kyc_updated" })
            let operatorKeyID = try #require(try await env.get("/api-keys").list.first { $0["role"] as? String == "operator" }?["id"] as? String)
            #expect(kyc["actor"] as? String == operatorKeyID)
            #expect((kyc["request_id"] as? String)?.hasPrefix("req_") == true)
            let depositAudit = try #require(audit.first { $0["action"] as? String == "account.deposit" })
            #expect(depositAudit["idempotency_key"] as? String == "idem-evt")
            #expect((depositAudit["context"] as? [String: Any])?["amount_minor"] as? Int == 4_200)
            let sequences = audit.map { $0["sequence"] as! Int }
            #expect(sequences == Array((1...sequences.count).reversed()))

            let verify = try await env.get("/audit-log/verify")
            #expect(verify.json["valid"] as? Bool == true)
            #expect(verify.json["records_checked"] as? Int == audit.count)
        }
    }

    @Test(arguments: Backend.allCases)
    func tamperingWithTheAuditLogIsDetected(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let customer = try await env.createCustomer()
            _ = try await env.createAccount(customer: customer)
            #expect(try await env.get("/audit-log/verify").json["valid"] as? Bool == true)
            try await env.store.engine.withTransaction { sql in
                try await sql.execute("UPDATE audit_log SET actor = 'someone_else' WHERE tenant_id = \(env.tenant) AND action = 'customer.created'")
            }
            let verify = try await env.get("/audit-log/verify")
            #expect(verify.json["valid"] as? Bool == false)
            #expect(verify.json["broken_at_sequence"] as? Int != nil)
        }
    }

    /// A page shows an object's newest events, however many it has, in the tenant's order.
    @Test(arguments: Backend.allCases)
    func theNewestEventsOfAnObjectAreBounded(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let customer = try await env.createCustomer(kyc: "pending")
            for status in ["verified", "rejected", "verified", "rejected"] {
                #expect(try await env.post("/customers/\(customer)/kyc", #"{"status": "\#(status)"}"#).status == .ok)
            }
            let (all, newest) = try await env.store.read(tenant: env.tenant) { scope in
                (try await scope.events.all(about: [customer]), try await scope.events.newest(about: [customer], limit: 3))
            }
            #expect(all.count == 5)
            #expect(newest.map(\.id) == all.suffix(3).map(\.id))
        }
    }

    /// A request verifies the records after the checkpoint a background pass verified, so its cost
    /// does not grow with the chain; a break after it is found, and the full walk finds any.
    @Test(arguments: Backend.allCases)
    func verificationStartsAtTheCheckpoint(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            for _ in 0..<5 { _ = try await env.createCustomer() }
            let before = try await env.get("/audit-log/verify").json
            #expect(before["valid"] as? Bool == true && before["checked_from_sequence"] as? Int == 0)
            let head = try #require(before["records_checked"] as? Int)

            try await AuditCheckpoints.advance(store: env.store)
            let atCheckpoint = try await env.get("/audit-log/verify").json
            #expect(atCheckpoint["checked_from_sequence"] as? Int == head && atCheckpoint["records_checked"] as? Int == 0)
            #expect(atCheckpoint["valid"] as? Bool == true && atCheckpoint["head_hash"] as? String == before["head_hash"] as? String)

            _ = try await env.createCustomer()
            let after = try await env.get("/audit-log/verify").json
            #expect(after["valid"] as? Bool == true && after["records_checked"] as? Int == 1)

            // A record changed after the checkpoint is found by requests; the checkpoint no longer moves.
            try await env.store.engine.withTransaction { sql in
                try await sql.execute("UPDATE audit_log SET actor = 'forged' WHERE tenant_id = \(env.tenant) AND sequence = \(head + 1)")
            }
            #expect(try await env.get("/audit-log/verify").json["broken_at_sequence"] as? Int == head + 1)
            try await AuditCheckpoints.advance(store: env.store)
            #expect(try await env.get("/audit-log/verify").json["checked_from_sequence"] as? Int == head)

            // One before it is for the full walk (zentra audit verify), which checks every record.
            try await env.store.engine.withTransaction { sql in
                try await sql.execute("UPDATE audit_log SET actor = 'forged' WHERE tenant_id = \(env.tenant) AND sequence = 2")
            }
            let full = try await env.store.read(tenant: env.tenant) { try await $0.auditLog.verify() }
            #expect(!full.valid && full.brokenAtSequence == 2 && full.checkedFromSequence == 0)
        }
    }

    @Test(arguments: Backend.allCases)
    func deletingTheNewestAuditRecordIsDetected(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            _ = try await env.createCustomer()
            _ = try await env.createCustomer()
            try await env.store.engine.withTransaction { sql in
                try await sql.execute("""
                    DELETE FROM audit_log WHERE tenant_id = \(env.tenant)
                      AND sequence = (SELECT MAX(sequence) FROM audit_log WHERE tenant_id = \(env.tenant))
                    """)
            }
            #expect(try await env.get("/audit-log/verify").json["valid"] as? Bool == false)
        }
    }

    /// A changed record (a field, or its context), a removed one and two reordered ones each break
    /// the chain exactly where they are, and the verification names that record and why.
    @Test(arguments: Backend.allCases, ["changed", "context", "removed", "reordered"])
    func everyKindOfTamperingIsFoundWhereItIs(_ backend: Backend, _ tampering: String) async throws {
        try await TestEnvironment.run(backend) { env in
            for _ in 0..<4 { _ = try await env.createCustomer() }
            #expect(try await env.get("/audit-log/verify").json["valid"] as? Bool == true)
            try await env.store.engine.withTransaction { sql in
                switch tampering {
                case "changed":
                    try await sql.execute("UPDATE audit_log SET object_id = 'cus_forged' WHERE tenant_id = \(env.tenant) AND sequence = 3")
                case "context":
                    try await sql.execute(#"UPDATE audit_log SET context = '{"forged":true}' WHERE tenant_id = \#(env.tenant) AND sequence = 3"#)
                case "removed":
                    try await sql.execute("DELETE FROM audit_log WHERE tenant_id = \(env.tenant) AND sequence = 3")
                default:
                    try await sql.execute("UPDATE audit_log SET sequence = -3 WHERE tenant_id = \(env.tenant) AND sequence = 3")
                    try await sql.execute("UPDATE audit_log SET sequence = 3 WHERE tenant_id = \(env.tenant) AND sequence = 4")
                    try await sql.execute("UPDATE audit_log SET sequence = 4 WHERE tenant_id = \(env.tenant) AND sequence = -3")
                }
            }
            let verify = try await env.get("/audit-log/verify").json
            #expect(verify["valid"] as? Bool == false)
            #expect(verify["records_checked"] as? Int == 2, "the first two records still hold")
            let reason = verify["reason"] as? String ?? ""
            switch tampering {
            case "changed", "context":
                #expect(verify["broken_at_sequence"] as? Int == 3 && reason.contains("content"), "\(verify)")
            case "removed":
                #expect(verify["broken_at_sequence"] as? Int == 4 && reason.contains("expected sequence 3"), "\(verify)")
            default:
                #expect(verify["broken_at_sequence"] as? Int == 3 && reason.contains("previous_hash"), "\(verify)")
            }
        }
    }

    /// Verifying hashes each context as stored, without parsing it; a context stored in another
    /// form of the same JSON (here: a space before it) is parsed and still verifies, on requests,
    /// the background checkpoint and the full walk alike.
    @Test(arguments: Backend.allCases)
    func aContextStoredInAnotherFormOfTheSameJSONStillVerifies(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            for _ in 0..<3 { _ = try await env.createCustomer() }
            try await env.store.engine.withTransaction { sql in
                try await sql.execute("UPDATE audit_log SET context = ' ' || context WHERE tenant_id = \(env.tenant) AND sequence = 2")
            }
            let stored = try await env.store.engine.withReader { sql in
                try await sql.queryOne("SELECT context FROM audit_log WHERE tenant_id = \(env.tenant) AND sequence = 2")?.string("context")
            }
            #expect(stored?.first == " ")
            let verify = try await env.get("/audit-log/verify").json
            #expect(verify["valid"] as? Bool == true, "\(verify)")
            let head = try #require(verify["records_checked"] as? Int)
            try await AuditCheckpoints.advance(store: env.store)
            #expect(try await env.get("/audit-log/verify").json["checked_from_sequence"] as? Int == head)
            #expect(try await env.store.read(tenant: env.tenant) { try await $0.auditLog.verify() }.valid)
        }
    }

    @Test(arguments: Backend.allCases)
    func runtimeIntentsRecordEachStepWithItsEvidence(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let body = #"{"intent_id": "intent_042", "scope": "workspace_scope", "money_model": "minor_units + ledger_currency", "primitives": ["policy", "ledger", "events"]}"#
            let created = try await env.post("/runtime/intents", body)
            #expect(created.status == .created)
            #expect(created.json["status"] as? String == "completed")
            let states = (created.json["steps"] as? [[String: Any]])?.map { $0["state"] as! String }
            #expect(states == ["received", "validated", "policy_evaluated", "ledger_posted", "events_emitted", "audited", "completed"])
            let replay = try await env.post("/runtime/intents", body)
            #expect(replay.body == created.body && replay.headers[.init("Idempotent-Replayed")!] == "true")
            #expect(try await env.post("/runtime/intents", body.replacingOccurrences(of: "workspace_scope", with: "other")).status == .unprocessableContent)
            #expect(try await env.get("/runtime/intents/intent_042").id == created.id)
            #expect(try await env.get("/runtime/intents/\(created.id)").json["intent_id"] as? String == "intent_042")

            // A deposit run as an intent: its ledger step names the journal entry it posted.
            let account = try await env.createAccount(customer: try await env.createCustomer())
            let depositIntent = try await env.post("/runtime/intents", #"{"intent_id": "dep-7", "operation": {"type": "deposit", "account": "\#(account)", "amount_minor": 777, "transaction_reference": "via-intent"}}"#)
            #expect(depositIntent.status == .created, "\(depositIntent.text)")
            let steps = try #require(depositIntent.json["steps"] as? [[String: Any]])
            let ledgerStep = try #require(steps.first { $0["state"] as? String == "ledger_posted" })
            let entryID = try #require((ledgerStep["journal_entries"] as? [String])?.first)
            #expect(try await env.get("/ledger/journal-entries/\(entryID)").json["intent"] as? String == depositIntent.id)
            let auditStep = try #require(steps.first { $0["state"] as? String == "audited" })
            #expect((auditStep["audit_records"] as? [String])?.count == 1)
            #expect(try await env.get("/accounts/\(account)").json["available_minor"] as? Int == 777)

            // Plain API calls are intents too.
            let plain = try await env.deposit(account, 5, reference: "plain")
            let plainIntent = try await env.get("/runtime/intents/\(plain.json["intent"] as! String)")
            #expect(plainIntent.json["type"] as? String == "account.deposit")
        }
    }

    /// Decisions, their adjustments, clearings, disputes and settlements write no intent row; their
    /// intents are derived from the rows they wrote, each step naming the entry, events and audit
    /// records it produced.
    @Test(arguments: Backend.allCases)
    func moneyOperationsShowTheirIntentsDerivedFromTheirRows(_ backend: Backend) async throws {
        try await TestEnvironment.run(backend) { env in
            let f = try await AuthorizationFixture.make(env, fund: 10_000)
            let auth = try await f.authorize(1_000, reference: "intent-ref")
            #expect(try await env.post("/authorizations/\(auth.id)/reversals", #"{"amount_minor": 400}"#, key: f.network).status == .ok)
            let clearing = try await env.post("/clearings", #"""
                {"clearing_id": "c-1", "network_reference": "intent-ref", "card": "\#(f.card)", "amount_minor": 600, "currency": "USD",
                 "merchant": {"id": "m_1", "name": "Corner Shop", "mcc": "5411", "country": "US"}}
                """#, key: f.network)
            #expect(clearing.status == .created, "\(clearing.text)")

            func steps(_ reply: TestReply) -> [String: [String: Any]] {
                Dictionary(((reply.json["steps"] as? [[String: Any]]) ?? []).map { ($0["state"] as! String, $0) }, uniquingKeysWith: { a, _ in a })
            }
            let decision = try await env.get("/runtime/intents/int_\(auth.id)")
            #expect(decision.status == .ok, "\(decision.text)")
            #expect(decision.json["type"] as? String == "authorization.decide" && decision.json["status"] as? String == "completed")
            #expect(decision.json["subject"] as? String == auth.id)
            let hold = try #require((auth.json["hold"] as? [String: Any])?["journal_entry"] as? String)
            #expect(steps(decision)["ledger_posted"]?["journal_entries"] as? [String] == [hold])
            let event = try #require(try await env.get("/events?type=authorization.approved").list.first?["id"] as? String)
            #expect(steps(decision)["events_emitted"]?["events"] as? [String] == [event])
            #expect((steps(decision)["audited"]?["audit_records"] as? [String])?.count == 1)
            #expect(steps(decision)["policy_evaluated"] != nil)

            let reversal = try await env.get("/runtime/intents/int_\(auth.id)_1")
            #expect(reversal.json["type"] as? String == "authorization.reversal", "\(reversal.text)")
            let adjustments = try await env.get("/authorizations/\(auth.id)").json["adjustments"] as? [[String: Any]]
            #expect(steps(reversal)["ledger_posted"]?["journal_entries"] as? [String] == [adjustments?.first?["journal_entry"] as! String])
            #expect((steps(reversal)["events_emitted"]?["events"] as? [String])?.count == 1)

            let cleared = try await env.get("/runtime/intents/int_\(clearing.id)")
            #expect(cleared.json["type"] as? String == "clearing.post", "\(cleared.text)")
            #expect(steps(cleared)["ledger_posted"]?["journal_entries"] as? [String] == [clearing.json["journal_entry"] as! String])

            let dispute = try await f.openDispute(try #require(clearing.json["transaction"] as? String), 200, provisional: true)
            #expect(dispute.status == .created, "\(dispute.text)")
            let opened = try await env.get("/runtime/intents/int_\(dispute.id)")
            #expect(opened.json["type"] as? String == "dispute.open" && opened.json["subject"] as? String == dispute.id, "\(opened.text)")
            #expect(steps(opened)["ledger_posted"]?["journal_entries"] as? [String] == dispute.json["journal_entries"] as? [String])
            let openedEvent = try #require(try await env.get("/events?type=dispute.opened").list.first?["id"] as? String)
            #expect(steps(opened)["events_emitted"]?["events"] as? [String] == [openedEvent])
            #expect(try await env.post("/disputes/\(dispute.id)/submit").status_ == "submitted")
            let submitted = try await env.get("/runtime/intents/int_\(dispute.id)_1")
            #expect(submitted.json["type"] as? String == "dispute.submitted" && steps(submitted)["ledger_posted"] == nil, "\(submitted.text)")
            #expect((steps(submitted)["events_emitted"]?["events"] as? [String])?.count == 1)
            #expect((steps(submitted)["audited"]?["audit_records"] as? [String])?.count == 1)
            #expect(try await env.get("/runtime/intents/int_\(dispute.id)_2").status == .notFound)

            let settlement = try await env.post("/settlements", #"{"currency": "USD"}"#, key: f.network)
            let closed = try await env.get("/runtime/intents/int_\(settlement.id)")
            #expect(closed.json["type"] as? String == "settlement.close" && closed.json["status"] as? String == "completed", "\(closed.text)")
            #expect(steps(closed)["ledger_posted"]?["journal_entries"] as? [String] == [settlement.json["journal_entry"] as! String])
            #expect(steps(closed)["events_emitted"]?["events"] as? [String]
                    == [try #require(try await env.get("/events?type=settlement.closed").list.first?["id"] as? String)])
            #expect(try await env.get("/runtime/intents/int_\(settlement.id)_1").status == .notFound)

            #expect(try await env.get("/runtime/intents/int_\(auth.id)_9").status == .notFound)
            #expect(try await env.get("/runtime/intents/int_auth_nothing").status == .notFound)
        }
    }
}
