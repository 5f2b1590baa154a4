import Foundation
import Testing
@testable import ZentraCore

@Suite struct AuditChainTests {
    let tenant = TenantID(unchecked: "ten_1")

    /// Each action is stored under one name, and an action no event announces does not take an
    /// event's name (a change that emits that event is audited as `.event`).
    @Test func auditActionsHaveOneNameEach() {
        let names = AuditAction.allCases.map(\.rawValue)
        #expect(Set(names).count == names.count)
        let eventNames = Set(EventType.allCases.map(\.rawValue))
        for action in AuditAction.allCases {
            if case .event = action { continue }
            #expect(!eventNames.contains(action.rawValue), "\(action)")
        }
    }

    func entry(_ sequence: Int64, action: String = "customer.created") -> AuditEntry {
        AuditEntry(id: AuditRecordID(unchecked: "aud_\(sequence)"), sequence: sequence, tenant: tenant, actor: "key_1",
                   action: action, objectType: "customer", objectID: "cus_\(sequence)", requestID: "req_\(sequence)",
                   idempotencyKey: nil, context: .object(["n": .int(sequence)]), createdAt: Timestamp(microseconds: sequence * 1000))
    }

    func chain(_ count: Int64) throws -> [AuditChain.Link] {
        var previous = AuditChain.genesisHash
        return try (1...count).map { sequence in
            let e = entry(sequence)
            let hash = try AuditChain.hash(previous: previous, entry: e)
            defer { previous = hash }
            return AuditChain.Link(entry: e, previousHash: previous, hash: hash)
        }
    }

    /// PostgreSQL chains records in the statement that writes them, from the canonical bytes
    /// around each record's number: with any number put between them they are the bytes that
    /// verification hashes (that PostgreSQL's hashes verify is `EvidenceTests`' on PostgreSQL).
    @Test(arguments: [Int64(1), 42, 1_000_000_007, .max])
    func canonicalPartsSurroundTheSequence(_ sequence: Int64) throws {
        var e = entry(7, action: "authorization.decided")
        e.idempotencyKey = "key \"quoted\" é"
        e.context = .object(["text": .string("line\nbreak ü"), "n": .int(-3)])
        let (prefix, suffix) = AuditChain.canonicalParts(e)
        e.sequence = sequence
        #expect(prefix + Array(String(sequence).utf8) + suffix == (try AuditChain.canonicalBytes(e)))
    }

    @Test func intactChainVerifies() throws {
        let result = try AuditChain.verify(try chain(5).map(AuditChain.StoredLink.init))
        #expect(result.valid)
        #expect(result.recordsChecked == 5)
    }

    @Test func editedRecordBreaksTheChainAtThatRecord() throws {
        var links = try chain(5)
        var edited = links[2].entry
        edited.action = "customer.deleted"
        links[2] = AuditChain.Link(entry: edited, previousHash: links[2].previousHash, hash: links[2].hash)
        let result = try AuditChain.verify(links.map(AuditChain.StoredLink.init))
        #expect(!result.valid)
        #expect(result.brokenAtSequence == 3)
    }

    @Test func droppedOrReorderedRecordsBreakTheChain() throws {
        var dropped = try chain(5)
        dropped.remove(at: 1)
        #expect(try AuditChain.verify(dropped.map(AuditChain.StoredLink.init)).brokenAtSequence == 3)
        var swapped = try chain(5)
        swapped.swapAt(1, 2)
        #expect(try !AuditChain.verify(swapped.map(AuditChain.StoredLink.init)).valid)
    }

    @Test func rehashingOneRecordStillBreaksTheNextLink() throws {
        var links = try chain(4)
        var edited = links[1].entry
        edited.actor = "attacker"
        links[1] = AuditChain.Link(entry: edited, previousHash: links[1].previousHash,
                                   hash: try AuditChain.hash(previous: links[1].previousHash, entry: edited))
        #expect(try AuditChain.verify(links.map(AuditChain.StoredLink.init)).brokenAtSequence == 3)
    }

    /// The canonical form is what `JSONEncoder` with sorted keys writes for the same object, so
    /// chains hashed before the direct writer verify unchanged.
    @Test func canonicalBytesAreThoseOfJSONEncoder() throws {
        let e = AuditEntry(
            id: AuditRecordID(unchecked: "aud_1"), sequence: 7, tenant: tenant, actor: "key_1", action: "card.funded",
            objectType: "card", objectID: "card_1", requestID: nil, idempotencyKey: "k/1 \"quoted\"",
            context: .object(["amount_minor": .int(-5), "note": .string("tab\tnew\nline \u{1} é ✓"), "nested": .array([.bool(true), .null, .double(52.52)])]),
            createdAt: Timestamp(microseconds: 1_763_900_000_123_456))
        struct Reference: Encodable {
            let id, tenant, actor, action, objectType, objectID: String
            let sequence, createdAtMicros: Int64
            let requestID, idempotencyKey: String?
            let context: JSONValue
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let reference = try encoder.encode(Reference(
            id: "aud_1", tenant: "ten_1", actor: "key_1", action: "card.funded", objectType: "card", objectID: "card_1", sequence: 7,
            createdAtMicros: 1_763_900_000_123_456, requestID: nil, idempotencyKey: "k/1 \"quoted\"", context: e.context))
        #expect(try AuditChain.canonicalBytes(e) == Array(reference))
    }

    /// A context is checked as the bytes stored where they are the writer's, and by its meaning
    /// where they are another form of the same JSON; another value, or no JSON, breaks the link.
    @Test func contextsVerifyAsStoredOrByTheirMeaning() throws {
        let links = try chain(3).map(AuditChain.StoredLink.init)
        func with(context: String, at index: Int) -> [AuditChain.StoredLink] {
            var edited = links
            let link = links[index]
            edited[index] = AuditChain.StoredLink(entry: link.entry, context: Array(context.utf8), previousHash: link.previousHash, hash: link.hash)
            return edited
        }
        #expect(links[1].context == Array(#"{"n":2}"#.utf8))
        #expect(try AuditChain.verify(with(context: #" { "n" : 2 }"#, at: 1)).valid)
        #expect(try AuditChain.verify(with(context: #"{"n":3}"#, at: 1)).brokenAtSequence == 2)
        #expect(try AuditChain.verify(with(context: #"{"n":"#, at: 1)).brokenAtSequence == 2)
    }

    @Test func hashIsDeterministic() throws {
        #expect(try AuditChain.hash(previous: AuditChain.genesisHash, entry: entry(1))
            == AuditChain.hash(previous: AuditChain.genesisHash, entry: entry(1)))
        #expect(try AuditChain.hash(previous: AuditChain.genesisHash, entry: entry(1))
            != AuditChain.hash(previous: AuditChain.genesisHash, entry: entry(1, action: "other")))
    }
}

extension AuditChain.StoredLink {
    /// A record as the writer stores it.
    init(_ link: AuditChain.Link) {
        self.init(entry: link.entry, context: link.entry.context.serialized, previousHash: link.previousHash, hash: link.hash)
    }
}

@Suite struct IntentMachineTests {
    @Test func walksForwardAndSkipsUnusedSteps() throws {
        var machine = IntentMachine(at: Timestamp(microseconds: 1), detail: "start")
        try machine.advance(to: .validated, at: Timestamp(microseconds: 2), detail: "ok")
        try machine.advance(to: .eventsEmitted, at: Timestamp(microseconds: 3), detail: "skip ledger")
        try machine.advance(to: .completed, at: Timestamp(microseconds: 4), detail: "done")
        #expect(machine.steps.map(\.state) == [.received, .validated, .eventsEmitted, .completed])
        #expect(machine.steps.map(\.sequence) == [1, 2, 3, 4])
    }

    @Test func refusesToGoBackOrLeaveATerminalState() throws {
        var machine = IntentMachine(at: Timestamp(microseconds: 1), detail: "start")
        try machine.advance(to: .ledgerPosted, at: Timestamp(microseconds: 2), detail: "posted")
        #expect(throws: DomainError.self) { try machine.advance(to: .validated, at: Timestamp(microseconds: 3), detail: "back") }
        try machine.advance(to: .failed, at: Timestamp(microseconds: 3), detail: "failed")
        #expect(throws: DomainError.self) { try machine.advance(to: .completed, at: Timestamp(microseconds: 4), detail: "after") }
    }
}
