/// Writes JSON straight into bytes, byte for byte what `JSONValue.serialized` writes for the same
/// value (object keys in sorted order, the same escapes and numbers), without building a tree of
/// values first: a decision's answer is rendered this way on every request. The caller writes each
/// object's keys in sorted order; debug builds check it.
public struct JSONWriter {
    public private(set) var bytes: [UInt8] = []
    /// Whether the container being written has no member yet.
    private var empty = true
    #if DEBUG
    private var lastKeys: [String] = []
    #endif

    public init(capacity: Int = 1_024) {
        bytes.reserveCapacity(capacity)
    }

    /// The bytes of one value written by `body`.
    public static func write(capacity: Int = 1_024, _ body: (inout JSONWriter) -> Void) -> [UInt8] {
        var writer = JSONWriter(capacity: capacity)
        body(&writer)
        return writer.bytes
    }

    public mutating func object(_ body: (inout JSONWriter) -> Void) {
        bytes.append(0x7B)
        let outer = empty
        empty = true
        #if DEBUG
        lastKeys.append("")
        #endif
        body(&self)
        #if DEBUG
        lastKeys.removeLast()
        #endif
        empty = outer
        bytes.append(0x7D)
    }

    public mutating func array<Items: Sequence>(_ items: Items, _ element: (inout JSONWriter, Items.Element) -> Void) {
        bytes.append(0x5B)
        let outer = empty
        empty = true
        for item in items {
            if !empty { bytes.append(0x2C) }
            empty = false
            element(&self, item)
        }
        empty = outer
        bytes.append(0x5D)
    }

    /// The next member's key; its value is written next.
    public mutating func key(_ name: StaticString) {
        #if DEBUG
        let text = name.description
        precondition(lastKeys.last.map { $0.isEmpty || $0 < text } ?? true, "JSON keys out of order: \(lastKeys.last ?? "") before \(text)")
        lastKeys[lastKeys.count - 1] = text
        #endif
        if !empty { bytes.append(0x2C) }
        empty = false
        bytes.append(0x22)
        name.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: [0x22, 0x3A])
    }

    public mutating func string(_ value: String) { JSONValue.writeString(value, into: &bytes) }
    public mutating func int(_ value: Int64) { bytes.append(contentsOf: String(value).utf8) }
    public mutating func bool(_ value: Bool) { JSONValue.bool(value).write(into: &bytes) }
    public mutating func double(_ value: Double) { JSONValue.double(value).write(into: &bytes) }
    public mutating func null() { JSONValue.null.write(into: &bytes) }
    public mutating func value(_ value: JSONValue) { value.write(into: &bytes) }
    /// A value already written by a writer (or `JSONValue.serialized`), copied as it is.
    public mutating func written(_ json: [UInt8]) { bytes.append(contentsOf: json) }

    /// `"name": "value"`, or nothing when the value is nil.
    public mutating func field(_ name: StaticString, _ value: String?) {
        guard let value else { return }
        key(name)
        string(value)
    }

    public mutating func field(_ name: StaticString, _ value: Int64?) {
        guard let value else { return }
        key(name)
        int(value)
    }

    public mutating func field(_ name: StaticString, _ value: Double?) {
        guard let value else { return }
        key(name)
        double(value)
    }

    public mutating func field(_ name: StaticString, strings: [String]?) {
        guard let strings else { return }
        key(name)
        array(strings) { $0.string($1) }
    }
}

/// A value rendered by a `JSONWriter`; its `JSONValue` form is read back from those bytes, so each
/// layout is written down once.
public protocol JSONWritable {
    func write(to writer: inout JSONWriter)
}

extension JSONWritable {
    public var serialized: [UInt8] { JSONWriter.write { write(to: &$0) } }

    public var serializedString: String { String(decoding: serialized, as: UTF8.self) }

    public var json: JSONValue {
        // The writer only writes valid JSON.
        (try? JSONValue.parse(serialized)) ?? .null
    }
}
