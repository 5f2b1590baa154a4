/// Something that happened in a tenant, numbered in the tenant's order.
public struct Event: Sendable, Hashable, Codable {
    public let id: EventID
    public let object: String
    public let type: String
    /// Position in the tenant's event order (1, 2, 3, …), without gaps.
    public let sequence: Int64
    public let data: EventData
    public let requestId: String?
    public let createdAt: Timestamp

    /// The object as it was after the change, kept as its JSON (keys sorted): an event is read to
    /// be sent, and its body goes out as written, without a tree of values in between.
    public struct EventData: Sendable, Hashable, Decodable {
        public let objectJSON: [UInt8]

        public var object: JSONValue { (try? JSONValue.parse(objectJSON)) ?? .null }

        init(objectJSON: [UInt8]) { self.objectJSON = objectJSON }

        enum CodingKeys: String, CodingKey { case object }

        public init(from decoder: any Decoder) throws {
            objectJSON = try decoder.container(keyedBy: CodingKeys.self).decode(JSONValue.self, forKey: .object).serialized
        }
    }

    public init(id: EventID, type: String, sequence: Int64, object: JSONValue, requestID: String?, createdAt: Timestamp) {
        self.init(id: id, type: type, sequence: sequence, objectJSON: object.serialized, requestID: requestID, createdAt: createdAt)
    }

    /// - Parameter objectJSON: the object already written as JSON with sorted keys (a `JSONWriter`'s bytes).
    public init(id: EventID, type: String, sequence: Int64, objectJSON: [UInt8], requestID: String?, createdAt: Timestamp) {
        self.id = id
        self.object = ObjectType.event.rawValue
        self.type = type
        self.sequence = sequence
        self.data = EventData(objectJSON: objectJSON)
        self.requestId = requestID
        self.createdAt = createdAt
    }
}

/// A runtime intent: a money or identity workflow and the steps it took.
public struct RuntimeIntent: Sendable, Hashable, Codable {
    public let id: IntentID
    public let object: String
    /// The client's key for this intent (`intent_id` on create); generated when none was given.
    public let intentId: String
    public let type: String
    public let scope: String
    public let moneyModel: String
    public let primitives: [String]
    public let status: IntentState
    public let steps: [IntentStep]
    public let subject: String?
    public let createdAt: Timestamp

    public init(
        id: IntentID, intentID: String, type: String, scope: String, moneyModel: String, primitives: [String],
        status: IntentState, steps: [IntentStep], subject: String?, createdAt: Timestamp
    ) {
        self.id = id
        self.object = ObjectType.runtimeIntent.rawValue
        self.intentId = intentID
        self.type = type
        self.scope = scope
        self.moneyModel = moneyModel
        self.primitives = primitives
        self.status = status
        self.steps = steps
        self.subject = subject
        self.createdAt = createdAt
    }
}

/// Events are rendered for every webhook delivery and every read: written straight into bytes.
/// This is the one layout: `Codable` encodes what the writer writes.
extension Event: JSONWritable {
    public func write(to w: inout JSONWriter) {
        w.object { w in
            w.field("created_at", createdAt.description)
            w.key("data")
            w.object { w in
                w.key("object")
                w.written(data.objectJSON)
            }
            w.field("id", id.rawValue)
            w.field("object", object)
            w.field("request_id", requestId)
            w.field("sequence", sequence)
            w.field("type", type)
        }
    }
}

extension Event { public func encode(to encoder: any Encoder) throws { try json.encode(to: encoder) } }
