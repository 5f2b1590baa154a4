/// Clearing records as JSON values, written by hand for the same reason as the authorization's:
/// a clearing file renders each record's clearing, transaction and case for its row and its event,
/// and `JSONEncoder` was a fifth of a file's time. Each layout is written down once, here:
/// `Codable` encodes the `json` value, and the synthesized decoders read stored rows back (a
/// round-trip test holds them to these layouts).
extension Clearing {
    public var json: JSONValue {
        var fields: [String: JSONValue] = [
            "id": .string(id.rawValue), "object": .string(object), "clearing_id": .string(clearingId), "status": .string(status.rawValue),
            "match_method": .string(matchMethod.rawValue), "card": .string(card.rawValue), "amount_minor": .int(amountMinor),
            "currency": .string(currency.code), "authorized_minor": .int(authorizedMinor), "delta_minor": .int(deltaMinor),
            "merchant": merchant.json, "transaction": .string(transaction.rawValue), "journal_entry": .string(journalEntry.rawValue),
            "plan": .object([
                "from_hold_minor": .int(plan.fromHoldMinor), "released_minor": .int(plan.releasedMinor),
                "from_funds_minor": .int(plan.fromFundsMinor), "shortfall_minor": .int(plan.shortfallMinor),
            ]),
            "created_at": .string(createdAt.description),
        ]
        if let authorization { fields["authorization"] = .string(authorization.rawValue) }
        if let networkReference { fields["network_reference"] = .string(networkReference) }
        if let reconciliationCase { fields["reconciliation_case"] = .string(reconciliationCase.rawValue) }
        if let fileId { fields["file_id"] = .string(fileId) }
        if let fileLine { fields["file_line"] = .int(fileLine) }
        if let settlement { fields["settlement"] = .string(settlement.rawValue) }
        return .object(fields)
    }
}

extension CardTransaction {
    public var json: JSONValue {
        var fields: [String: JSONValue] = [
            "id": .string(id.rawValue), "object": .string(object), "card": .string(card.rawValue), "amount_minor": .int(amountMinor),
            "currency": .string(currency.code), "merchant": merchant.json, "disputed_minor": .int(disputedMinor),
            "created_at": .string(createdAt.description), "updated_at": .string(updatedAt.description),
        ]
        if let authorization { fields["authorization"] = .string(authorization.rawValue) }
        return .object(fields)
    }
}

extension ReconciliationCase {
    /// The API answers the case as its events carry it (`owner` null while unassigned).
    public func encode(to encoder: any Encoder) throws {
        try json.encode(to: encoder)
    }

    public var json: JSONValue {
        var fields: [String: JSONValue] = [
            "id": .string(id.rawValue), "object": .string(object), "kind": .string(kind.rawValue), "status": .string(status.rawValue),
            "clearing": .string(clearing.rawValue), "transaction": .string(transaction.rawValue), "card": .string(card.rawValue),
            "amount_minor": .int(amountMinor), "authorized_minor": .int(authorizedMinor), "delta_minor": .int(deltaMinor),
            "currency": .string(currency.code), "ledger_entries": .array(ledgerEntries.map { .string($0.rawValue) }),
            "created_at": .string(createdAt.description), "updated_at": .string(updatedAt.description),
        ]
        if let authorization { fields["authorization"] = .string(authorization.rawValue) }
        // Who works the case is asked about every case: null until someone is assigned.
        fields["owner"] = owner.map(JSONValue.string) ?? .null
        if let resolution { fields["resolution"] = .string(resolution.rawValue) }
        if let note { fields["note"] = .string(note) }
        if let resolvedBy { fields["resolved_by"] = .string(resolvedBy) }
        if let resolvedAt { fields["resolved_at"] = .string(resolvedAt.description) }
        return .object(fields)
    }
}

extension Clearing { public func encode(to encoder: any Encoder) throws { try json.encode(to: encoder) } }
extension CardTransaction { public func encode(to encoder: any Encoder) throws { try json.encode(to: encoder) } }
