import Foundation

/// `zentra.clearings`: clearing records and files (network key to post them).
public struct Clearings: Sendable {
    let transport: Transport

    /// Posts one clearing record. `clearingID` is its idempotency key: a repeat answers the first result.
    public func create(clearingID: String, card: String, amountMinor: Int64, currency: String, merchant: Merchant,
                       authorization: String? = nil, networkReference: String? = nil) async throws -> Clearing {
        try await transport.post("/clearings", .object(omittingNil: [
            "clearing_id": clearingID.json, "card": card.json, "amount_minor": amountMinor.json, "currency": currency.json,
            "merchant": try JSONValue(encoding: merchant), "authorization": authorization?.json,
            "network_reference": networkReference?.json,
        ]), idempotency: .natural)
    }

    public func list(status: Clearing.Status? = nil, pageSize: Int = 20) -> ZentraList<Clearing> {
        ZentraList(transport: transport, path: "/clearings", query: ["status": status?.rawValue], pageSize: pageSize)
    }

    public func get(_ id: String) async throws -> Clearing {
        try await transport.get("/clearings/" + id.pathSegment)
    }

    public func evidence(_ id: String) async throws -> EvidencePacket {
        try await EvidencePacket.fetch("/clearings/\(id.pathSegment)/evidence", transport)
    }

    /// Sends a CSV clearing file (`docs/clearing.md`). `fileID` makes a resend harmless: its records
    /// answer `duplicate` and nothing posts twice.
    public func uploadFile(fileID: String, csv: some DataProtocol, lines: ClearingFile.Lines = .all) async throws -> ClearingFile {
        let response = try await transport.send(.POST, "/clearing-files", query: ["file_id": fileID, "lines": lines.rawValue],
                                                body: Array(csv), contentType: "text/csv")
        return try transport.decode(response)
    }

    /// The last completed run of a file, by its file id.
    public func file(_ fileID: String) async throws -> ClearingFile {
        try await transport.get("/clearing-files/" + fileID.pathSegment)
    }
}

/// `zentra.reconciliationCases`: differences between authorized and cleared, for operators.
public struct ReconciliationCases: Sendable {
    let transport: Transport

    public func list(status: ReconciliationCase.Status? = nil, pageSize: Int = 20) -> ZentraList<ReconciliationCase> {
        ZentraList(transport: transport, path: "/reconciliation-cases", query: ["status": status?.rawValue], pageSize: pageSize)
    }

    public func get(_ id: String) async throws -> ReconciliationCase {
        try await transport.get("/reconciliation-cases/" + id.pathSegment)
    }

    public func evidence(_ id: String) async throws -> EvidencePacket {
        try await EvidencePacket.fetch("/reconciliation-cases/\(id.pathSegment)/evidence", transport)
    }

    public func assign(_ id: String, owner: String, idempotencyKey: String? = nil) async throws -> ReconciliationCase {
        try await transport.post("/reconciliation-cases/\(id.pathSegment)/assign", ["owner": owner.json], idempotency: .key(idempotencyKey))
    }

    /// Final: a resolved case stays resolved.
    public func resolve(_ id: String, resolution: ReconciliationCase.Resolution, note: String? = nil,
                        idempotencyKey: String? = nil) async throws -> ReconciliationCase {
        try await transport.post("/reconciliation-cases/\(id.pathSegment)/resolve",
                                 .object(omittingNil: ["resolution": resolution.json, "note": note?.json]), idempotency: .key(idempotencyKey))
    }
}

/// `zentra.settlements`: settlement batches.
public struct Settlements: Sendable {
    let transport: Transport

    /// Closes a batch of every unsettled clearing and won chargeback in `currency` (network or
    /// operator key); 409 `.nothingToSettle` when there is none.
    public func create(currency: String, idempotencyKey: String? = nil) async throws -> Settlement {
        try await transport.post("/settlements", ["currency": currency.json], idempotency: .key(idempotencyKey))
    }

    public func list(pageSize: Int = 20) -> ZentraList<Settlement> {
        ZentraList(transport: transport, path: "/settlements", pageSize: pageSize)
    }

    /// The batch with every clearing and dispute it covered.
    public func get(_ id: String) async throws -> Settlement {
        try await transport.get("/settlements/" + id.pathSegment)
    }
}

/// `zentra.transactions`: cleared purchases.
public struct Transactions: Sendable {
    let transport: Transport

    public func list(card: String? = nil, pageSize: Int = 20) -> ZentraList<Transaction> {
        ZentraList(transport: transport, path: "/transactions", query: ["card": card], pageSize: pageSize)
    }

    /// The purchase with its clearing records, disputes and journal entries.
    public func get(_ id: String) async throws -> Transaction {
        try await transport.get("/transactions/" + id.pathSegment)
    }
}

/// `zentra.disputes`: a cardholder's disputes and their outcome.
public struct Disputes: Sendable {
    let transport: Transport

    /// Opens a dispute on a cleared transaction; `provisionalCredit` credits the card now (reversed if lost).
    public func create(transaction: String, reason: Dispute.Reason, amountMinor: Int64, evidence: JSONValue? = nil,
                       provisionalCredit: Bool? = nil, idempotencyKey: String? = nil) async throws -> Dispute {
        try await transport.post("/disputes", .object(omittingNil: [
            "transaction": transaction.json, "reason": reason.json, "amount_minor": amountMinor.json,
            "evidence": evidence, "provisional_credit": provisionalCredit?.json,
        ]), idempotency: .key(idempotencyKey))
    }

    public func list(transaction: String? = nil, pageSize: Int = 20) -> ZentraList<Dispute> {
        ZentraList(transport: transport, path: "/disputes", query: ["transaction": transaction], pageSize: pageSize)
    }

    public func get(_ id: String) async throws -> Dispute {
        try await transport.get("/disputes/" + id.pathSegment)
    }

    public func evidence(_ id: String) async throws -> EvidencePacket {
        try await EvidencePacket.fetch("/disputes/\(id.pathSegment)/evidence", transport)
    }

    /// opened → submitted, optionally replacing the evidence.
    public func submit(_ id: String, evidence: JSONValue? = nil, idempotencyKey: String? = nil) async throws -> Dispute {
        try await transport.post("/disputes/\(id.pathSegment)/submit", .object(omittingNil: ["evidence": evidence]),
                                 idempotency: .key(idempotencyKey))
    }

    public func withdraw(_ id: String, note: String? = nil, idempotencyKey: String? = nil) async throws -> Dispute {
        try await transport.post("/disputes/\(id.pathSegment)/withdraw", .object(omittingNil: ["note": note?.json]),
                                 idempotency: .key(idempotencyKey))
    }

    /// The network's outcome on a submitted dispute (operator key).
    public func resolve(_ id: String, outcome: Dispute.Outcome, note: String? = nil, idempotencyKey: String? = nil) async throws -> Dispute {
        try await transport.post("/disputes/\(id.pathSegment)/resolve", .object(omittingNil: ["outcome": outcome.json, "note": note?.json]),
                                 idempotency: .key(idempotencyKey))
    }
}
