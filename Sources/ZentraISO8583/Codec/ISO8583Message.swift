import ZentraCore

/// One ISO 8583:1987 message as the wire carries it in the `default_ascii` layout: its type
/// indicator and its data elements as ASCII text, by number. The bitmaps are not kept: they are
/// derived from which fields are present.
public struct ISO8583Message: Sendable, Hashable {
    /// The message type indicator: 4 digits (`0100`, `0810`, …).
    public var mti: String
    /// Data elements 2 to 128, each exactly as sent (spaces kept; only printable ASCII).
    public var fields: [Int: String]

    public init(mti: String, fields: [Int: String] = [:]) {
        self.mti = mti
        self.fields = fields
    }

    public subscript(field: Int) -> String? {
        get { fields[field] }
        set { fields[field] = newValue }
    }

    /// The message's bytes, without the frame's length prefix.
    public func encoded() throws(ISO8583FormatError) -> [UInt8] {
        guard mti.utf8.count == 4, mti.utf8.allSatisfy(ASCII.isDigit) else {
            throw ISO8583FormatError("the message type must be 4 digits", field: nil)
        }
        var bitmap = [UInt8](repeating: 0, count: 16)
        for field in fields.keys {
            guard (2...128).contains(field) else { throw ISO8583FormatError("there is no field \(field)", field: field) }
            bitmap[(field - 1) / 8] |= 0x80 >> UInt8((field - 1) % 8)
        }
        let secondary = fields.keys.contains { $0 > 64 }
        if secondary { bitmap[0] |= 0x80 }
        var out = Array(mti.utf8)
        out.reserveCapacity(64)
        for byte in bitmap.prefix(secondary ? 16 : 8) { out.append(contentsOf: ASCII.hex(byte)) }
        for field in fields.keys.sorted() {
            let value = Array(fields[field]!.utf8)
            let format = ISO8583Layout.format(field)!
            guard value.allSatisfy(ASCII.isPrintable) else { throw ISO8583FormatError("field \(field) is not printable ASCII", field: field) }
            switch format {
            case .fixed(let length):
                guard value.count == length else { throw ISO8583FormatError("field \(field) must be \(length) characters, not \(value.count)", field: field) }
            case .llvar(let max), .lllvar(let max):
                guard value.count <= max else { throw ISO8583FormatError("field \(field) is at most \(max) characters, not \(value.count)", field: field) }
                out.append(contentsOf: ASCII.digits(value.count, width: format.prefixDigits))
            }
            out.append(contentsOf: value)
        }
        return out
    }

    /// Reads one message (a frame's body). Every length is checked against the layout and the
    /// bytes at hand before it is used, so no input can read past the end or allocate more than
    /// the frame holds.
    public static func decode(_ bytes: [UInt8]) throws(ISO8583FormatError) -> ISO8583Message {
        var reader = Reader(bytes: bytes)
        guard let mtiBytes = reader.take(4), mtiBytes.allSatisfy(ASCII.isDigit) else {
            throw ISO8583FormatError("the message type is not 4 digits", field: nil)
        }
        var message = ISO8583Message(mti: String(decoding: mtiBytes, as: UTF8.self))
        func fault(_ text: String, field: Int?) -> ISO8583FormatError {
            ISO8583FormatError(text, field: field, partial: message)
        }
        guard let primary = reader.bitmap() else { throw fault("the primary bitmap is not 16 hex digits", field: nil) }
        var present = primary
        if primary[0] & 0x80 != 0 {
            guard let secondary = reader.bitmap() else { throw fault("the secondary bitmap is not 16 hex digits", field: 1) }
            present += secondary
        }
        for field in 2...(present.count * 8) where present[(field - 1) / 8] & (0x80 >> UInt8((field - 1) % 8)) != 0 {
            let format = ISO8583Layout.format(field)!
            let length: Int
            switch format {
            case .fixed(let fixed): length = fixed
            case .llvar, .lllvar:
                guard let prefix = reader.take(format.prefixDigits), let declared = ASCII.number(prefix) else {
                    throw fault("field \(field)'s length is not \(format.prefixDigits) digits", field: field)
                }
                guard declared <= format.maxLength else { throw fault("field \(field) is at most \(format.maxLength) characters, not \(declared)", field: field) }
                length = declared
            }
            guard let value = reader.take(length) else { throw fault("the message ends inside field \(field)", field: field) }
            guard value.allSatisfy(ASCII.isPrintable) else { throw fault("field \(field) is not printable ASCII", field: field) }
            message.fields[field] = String(decoding: value, as: UTF8.self)
        }
        guard reader.atEnd else { throw fault("\(reader.remaining) bytes follow the last field", field: nil) }
        return message
    }

    private struct Reader {
        let bytes: [UInt8]
        var position = 0

        var remaining: Int { bytes.count - position }
        var atEnd: Bool { position == bytes.count }

        mutating func take(_ count: Int) -> ArraySlice<UInt8>? {
            guard count <= remaining else { return nil }
            defer { position += count }
            return bytes[position..<(position + count)]
        }

        /// 16 hex digits (either case) as 8 bytes.
        mutating func bitmap() -> [UInt8]? {
            guard let hex = take(16) else { return nil }
            var out: [UInt8] = []
            out.reserveCapacity(8)
            var index = hex.startIndex
            while index < hex.endIndex {
                guard let high = Hex.value(hex[index]), let low = Hex.value(hex[index + 1]) else { return nil }
                out.append(high << 4 | low)
                index += 2
            }
            return out
        }
    }
}

/// A message that breaks the layout: what is wrong, in which field, and what was read before it
/// (a format-error answer echoes the trace number and reference when they were readable).
public struct ISO8583FormatError: Error, Sendable, Hashable, CustomStringConvertible {
    public let message: String
    public let field: Int?
    public let partial: ISO8583Message?

    init(_ message: String, field: Int?, partial: ISO8583Message? = nil) {
        self.message = message
        self.field = field
        self.partial = partial
    }

    public var description: String { message }
}

enum ASCII {
    static func isDigit(_ byte: UInt8) -> Bool { (0x30...0x39).contains(byte) }
    static func isPrintable(_ byte: UInt8) -> Bool { (0x20...0x7E).contains(byte) }

    static func hex(_ byte: UInt8) -> [UInt8] {
        let digits = Array("0123456789ABCDEF".utf8)
        return [digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]]
    }

    /// Fixed fields are padded with spaces: the text without them at either end (the
    /// `default_ascii` layout is ASCII throughout, so no Foundation is needed to trim it).
    static func trimmingSpaces(_ bytes: ArraySlice<UInt8>) -> String {
        var text = bytes
        while text.first == 0x20 { text.removeFirst() }
        while text.last == 0x20 { text.removeLast() }
        return String(decoding: text, as: UTF8.self)
    }

    /// A small decimal number from ASCII digits; nil when one is not a digit.
    static func number(_ bytes: ArraySlice<UInt8>) -> Int? {
        var value = 0
        for byte in bytes {
            guard isDigit(byte) else { return nil }
            value = value * 10 + Int(byte - 0x30)
        }
        return value
    }

    static func digits(_ value: Int, width: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0x30, count: width)
        var rest = value
        for index in (0..<width).reversed() {
            out[index] = UInt8(0x30 + rest % 10)
            rest /= 10
        }
        return out
    }
}
