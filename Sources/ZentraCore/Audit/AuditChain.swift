import Crypto
import Foundation

/// One audit record's content: who did what to which object, under which request and policy.
public struct AuditEntry: Sendable, Hashable, Codable {
    public var id: AuditRecordID
    public var sequence: Int64
    public var tenant: TenantID
    public var actor: String
    public var action: String
    public var objectType: String
    public var objectID: String
    public var requestID: String?
    public var idempotencyKey: String?
    public var context: JSONValue
    public var createdAt: Timestamp

    public init(
        id: AuditRecordID, sequence: Int64, tenant: TenantID, actor: String, action: String,
        objectType: String, objectID: String, requestID: String?, idempotencyKey: String?,
        context: JSONValue, createdAt: Timestamp
    ) {
        self.id = id
        self.sequence = sequence
        self.tenant = tenant
        self.actor = actor
        self.action = action
        self.objectType = objectType
        self.objectID = objectID
        self.requestID = requestID
        self.idempotencyKey = idempotencyKey
        self.context = context
        self.createdAt = createdAt
    }
}

/// The per-tenant hash chain over audit records: each record's hash covers its content and the
/// previous record's hash, so editing, dropping or reordering any record breaks every later link.
public enum AuditChain {
    public static let genesisHash = String(repeating: "0", count: 64)

    /// SHA-256 (hex) of the previous hash and the record's canonical JSON.
    public static func hash(previous: String, entry: AuditEntry) throws -> String {
        hash(previous: previous, canonical: try canonicalBytes(entry))
    }

    private static func hash(previous: String, canonical: [UInt8]) -> String {
        var hasher = SHA256()
        hasher.update(data: Array(previous.utf8))
        hasher.update(data: [0x0A])
        hasher.update(data: canonical)
        return Hex.encode(hasher.finalize())
    }

    /// Stable field names and raw microseconds, keys sorted: the hash must not depend on display
    /// formatting. (The same bytes `JSONEncoder` with sorted keys writes for this object; a test
    /// holds them equal, so chains written before this writer verify still.)
    static func canonicalBytes(_ e: AuditEntry) throws -> [UInt8] {
        canonicalBytes(e) { $0.value(e.context) }
    }

    /// The canonical bytes before and after the record's sequence number (`e.sequence` is not
    /// read): `prefix`, the number in decimal, `suffix` are `canonicalBytes`. PostgreSQL numbers and
    /// chains records in the statement that writes them (`CommitBatch`), from these.
    public static func canonicalParts(_ e: AuditEntry) -> (prefix: [UInt8], suffix: [UInt8]) {
        var split = 0
        let bytes = canonicalBytes(e, context: { $0.value(e.context) }, sequence: { split = $0.bytes.count })
        return (Array(bytes[..<split]), Array(bytes[split...]))
    }

    /// The canonical bytes with the context written by `context` (`e.context` is not read).
    private static func canonicalBytes(_ e: AuditEntry, context: (inout JSONWriter) -> Void) -> [UInt8] {
        canonicalBytes(e, context: context, sequence: { $0.int(e.sequence) })
    }

    private static func canonicalBytes(_ e: AuditEntry, context: (inout JSONWriter) -> Void, sequence: (inout JSONWriter) -> Void) -> [UInt8] {
        JSONWriter.write(capacity: 512) { w in
            w.object { w in
                w.field("action", e.action)
                w.field("actor", e.actor)
                w.key("context")
                context(&w)
                w.field("createdAtMicros", e.createdAt.microseconds)
                w.field("id", e.id.rawValue)
                w.field("idempotencyKey", e.idempotencyKey)
                w.field("objectID", e.objectID)
                w.field("objectType", e.objectType)
                w.field("requestID", e.requestID)
                w.key("sequence")
                sequence(&w)
                w.field("tenant", e.tenant.rawValue)
            }
        }
    }

    /// A stored record: content plus the chain links as written.
    public struct Link: Sendable, Hashable {
        public let entry: AuditEntry
        public let previousHash: String
        public let hash: String

        public init(entry: AuditEntry, previousHash: String, hash: String) {
            self.entry = entry
            self.previousHash = previousHash
            self.hash = hash
        }
    }

    /// A stored record as verification reads it: its content, the context left out, and the
    /// context's bytes as stored. The writer stores a context exactly as its hash covers it
    /// (`JSONValue.serialized`), so a chain verifies without parsing contexts and writing them
    /// again, which was most of what verifying cost. A context stored in another form of the same
    /// JSON is parsed and checked as before; a hash that matches the bytes as stored matches their
    /// meaning too, so this checks nothing less.
    public struct StoredLink: Sendable {
        /// The record's content; its `context` is not read (`context` below is).
        public let entry: AuditEntry
        public let context: [UInt8]
        public let previousHash: String
        public let hash: String

        public init(entry: AuditEntry, context: [UInt8], previousHash: String, hash: String) {
            self.entry = entry
            self.context = context
            self.previousHash = previousHash
            self.hash = hash
        }

        /// Whether the content hashes to `hash` after `previousHash`.
        func holds() throws -> Bool {
            if AuditChain.hash(previous: previousHash, canonical: canonicalBytes(entry, context: { $0.written(context) })) == hash {
                return true
            }
            // Not JSON at all: no content the writer hashed.
            guard let context = try? JSONValue.parse(context) else { return false }
            var parsed = entry
            parsed.context = context
            return try AuditChain.hash(previous: previousHash, entry: parsed) == hash
        }
    }

    public struct Verification: Sendable, Hashable, Codable {
        public let valid: Bool
        public let recordsChecked: Int64
        public let headHash: String
        /// The first record whose link does not hold, and why.
        public let brokenAtSequence: Int64?
        public let reason: String?
        /// The checked records follow this one (0: from the first), whose hash was verified before.
        public let checkedFromSequence: Int64

        public init(valid: Bool, recordsChecked: Int64, headHash: String, brokenAtSequence: Int64?, reason: String?, checkedFromSequence: Int64 = 0) {
            self.valid = valid
            self.recordsChecked = recordsChecked
            self.headHash = headHash
            self.brokenAtSequence = brokenAtSequence
            self.reason = reason
            self.checkedFromSequence = checkedFromSequence
        }
    }

    /// Walks the links in sequence order from the genesis and reports the first break.
    public static func verify(_ links: some Sequence<StoredLink>, continuingFrom start: (hash: String, sequence: Int64) = (genesisHash, 0)) throws -> Verification {
        var expectedPrevious = start.hash
        var expectedSequence = start.sequence + 1
        var checked: Int64 = 0
        for link in links {
            func broken(_ reason: String) -> Verification {
                Verification(valid: false, recordsChecked: checked, headHash: expectedPrevious,
                             brokenAtSequence: link.entry.sequence, reason: reason)
            }
            guard link.entry.sequence == expectedSequence else {
                return broken("expected sequence \(expectedSequence), found \(link.entry.sequence)")
            }
            guard link.previousHash == expectedPrevious else { return broken("previous_hash does not match the prior record") }
            guard try link.holds() else {
                return broken("record content does not match its hash")
            }
            expectedPrevious = link.hash
            expectedSequence += 1
            checked += 1
        }
        return Verification(valid: true, recordsChecked: checked, headHash: expectedPrevious, brokenAtSequence: nil, reason: nil)
    }
}
