/// A direct reader of JSON text into `JSONValue` (RFC 8259, strict): request bodies, and the JSON
/// columns read back (policy traces, evidence, event payloads). `JSONValue`'s `Decodable` path asks
/// Foundation's decoder for each type in turn and every miss builds and throws an error: in a profile
/// of a clearing file's matched records, reading back their authorizations' evidence that way took
/// two fifths of the server's CPU.
///
/// Integers that fit in 64 bits and have no fraction or exponent are `.int`; any other number is
/// `.double`, except in a request body (`parseRequestBody`), where a whole number written with a
/// fraction or an exponent is an integer too. A repeated key
/// keeps its last value. Strings must be valid UTF-8 without raw control characters. Errors are
/// `ParseError`, thrown untyped: with typed throws, inlining into async callers crashed the release
/// compiler (Swift 6.3.1, coroutine splitting).
extension JSONValue {
    public struct ParseError: Error, Sendable, Equatable {
        public let offset: Int
        public let reason: String
    }

    /// Nesting deeper than this is refused rather than recursed into.
    public static let parseDepth_max = 256

    public static func parse(_ bytes: [UInt8]) throws -> JSONValue {
        try parse(bytes, wholeNumbers: false).value
    }

    /// A request body, read as `parse` reads, except that a number written with a fraction or an
    /// exponent whose value is a whole number that fits in 64 bits (`1413.0`, `1.5e3`) is that
    /// integer, worked out exactly from its digits. JSON Schema counts such a number an integer,
    /// and clients send them (Python's floats, schema-driven generators); a Double would round
    /// `9007199254740993.0`, so money fields refuse every `.double`. `rewroteNumbers` says whether
    /// any number was read this way, so that a second reader of the body reads `value` instead of
    /// the bytes.
    public static func parseRequestBody(_ bytes: [UInt8]) throws -> (value: JSONValue, rewroteNumbers: Bool) {
        try parse(bytes, wholeNumbers: true)
    }

    private static func parse(_ bytes: [UInt8], wholeNumbers: Bool) throws -> (value: JSONValue, rewroteNumbers: Bool) {
        try bytes.withUnsafeBufferPointer { buffer throws in
            var parser = JSONParser(bytes: buffer, wholeNumbers: wholeNumbers)
            parser.skipWhitespace()
            let value = try parser.value(depth: 0)
            parser.skipWhitespace()
            guard parser.index == buffer.count else { throw parser.error("unexpected text after the value") }
            return (value, parser.rewroteNumbers)
        }
    }
}

private struct JSONParser {
    let bytes: UnsafeBufferPointer<UInt8>
    /// Whole numbers written with a fraction or an exponent are `.int` (request bodies).
    let wholeNumbers: Bool
    var index = 0
    var rewroteNumbers = false

    init(bytes: UnsafeBufferPointer<UInt8>, wholeNumbers: Bool) {
        self.bytes = bytes
        self.wholeNumbers = wholeNumbers
    }

    func error(_ reason: String) -> JSONValue.ParseError {
        JSONValue.ParseError(offset: index, reason: reason)
    }

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    mutating func value(depth: Int) throws -> JSONValue {
        guard index < bytes.count else { throw error("unexpected end of input") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try object(depth: depth + 1)
        case UInt8(ascii: "["): return try array(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw error("unexpected character")
        }
    }

    mutating func literal(_ word: StaticString) throws {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw error("unexpected end of input") }
        for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] {
            throw error("invalid literal")
        }
        index += count
    }

    mutating func object(depth: Int) throws -> JSONValue {
        var fields: [String: JSONValue] = [:]
        if try enter(closingWith: UInt8(ascii: "}"), depth: depth) { return .object(fields) }
        repeat {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw error("expected a key") }
            let key = try string()
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw error("expected ':'") }
            index += 1
            skipWhitespace()
            fields[key] = try value(depth: depth)
        } while try !leave(closingWith: UInt8(ascii: "}"))
        return .object(fields)
    }

    mutating func array(depth: Int) throws -> JSONValue {
        var values: [JSONValue] = []
        if try enter(closingWith: UInt8(ascii: "]"), depth: depth) { return .array(values) }
        repeat {
            skipWhitespace()
            values.append(try value(depth: depth))
        } while try !leave(closingWith: UInt8(ascii: "]"))
        return .array(values)
    }

    /// Steps past an object's or array's opening bracket; true when it closes at once (`{}`, `[]`).
    mutating func enter(closingWith close: UInt8, depth: Int) throws -> Bool {
        guard depth <= JSONValue.parseDepth_max else { throw error("nested too deeply") }
        index += 1
        skipWhitespace()
        guard index < bytes.count, bytes[index] == close else { return false }
        index += 1
        return true
    }

    /// After a member or element: past a comma (false, another one follows) or the closing bracket (true).
    mutating func leave(closingWith close: UInt8) throws -> Bool {
        skipWhitespace()
        guard index < bytes.count else { throw error("unexpected end of input") }
        switch bytes[index] {
        case UInt8(ascii: ","): index += 1; return false
        case close: index += 1; return true
        default: throw error("expected ',' or '\(Character(Unicode.Scalar(close)))'")
        }
    }

    mutating func string() throws -> String {
        index += 1
        let start = index
        // The common case: no escapes, the bytes are the string.
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let slice = UnsafeBufferPointer(rebasing: bytes[start..<index])
                index += 1
                guard let text = String(validating: slice, as: UTF8.self) else { throw error("invalid UTF-8 in a string") }
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            guard byte >= 0x20 else { throw error("control character in a string") }
            index += 1
        }
        var utf8 = Array(bytes[start..<index])
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                guard let text = String(validating: utf8, as: UTF8.self) else { throw error("invalid UTF-8 in a string") }
                return text
            case UInt8(ascii: "\\"):
                index += 1
                guard index < bytes.count else { throw error("unexpected end of input") }
                let escaped = bytes[index]
                index += 1
                switch escaped {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(escaped)
                case UInt8(ascii: "b"): utf8.append(0x08)
                case UInt8(ascii: "f"): utf8.append(0x0C)
                case UInt8(ascii: "n"): utf8.append(0x0A)
                case UInt8(ascii: "r"): utf8.append(0x0D)
                case UInt8(ascii: "t"): utf8.append(0x09)
                case UInt8(ascii: "u"): utf8.append(contentsOf: try unicodeEscape())
                default: throw error("invalid escape")
                }
            case 0x00..<0x20:
                throw error("control character in a string")
            default:
                utf8.append(byte)
                index += 1
            }
        }
        throw error("unterminated string")
    }

    /// `\uXXXX` (index after the `u`), a surrogate pair as two of them; answers its UTF-8 bytes.
    mutating func unicodeEscape() throws -> [UInt8] {
        var scalar = try hex4()
        if (0xD800..<0xDC00).contains(scalar) {
            guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                throw error("unpaired surrogate")
            }
            index += 2
            let low = try hex4()
            guard (0xDC00..<0xE000).contains(low) else { throw error("unpaired surrogate") }
            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
        } else if (0xDC00..<0xE000).contains(scalar) {
            throw error("unpaired surrogate")
        }
        guard let unicode = Unicode.Scalar(scalar) else { throw error("invalid escape") }
        return Array(String(Character(unicode)).utf8)
    }

    mutating func hex4() throws -> UInt32 {
        guard index + 4 <= bytes.count else { throw error("unexpected end of input") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw error("invalid \\u escape")
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    mutating func number() throws -> JSONValue {
        let start = index
        let negative = bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        guard index < bytes.count, isDigit(bytes[index]) else { throw error("invalid number") }
        let integerStart = index
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if index < bytes.count, isDigit(bytes[index]) { throw error("leading zero in a number") }
        } else {
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        let integer = integerStart..<index
        var fraction = index..<index
        var exponent: (digits: Range<Int>, negative: Bool)?
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else { throw error("invalid number") }
            let fractionStart = index
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
            fraction = fractionStart..<index
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            let sign = index < bytes.count ? bytes[index] : 0
            if sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count, isDigit(bytes[index]) else { throw error("invalid number") }
            let exponentStart = index
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
            exponent = (exponentStart..<index, sign == UInt8(ascii: "-"))
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        let plain = fraction.isEmpty && exponent == nil
        if plain, let int = Int64(text) { return .int(int) }
        if wholeNumbers, !plain, let whole = wholeNumber(negative: negative, integer: integer, fraction: fraction, exponent: exponent) {
            rewroteNumbers = true
            return .int(whole)
        }
        guard let double = Double(text), double.isFinite else { throw error("number out of range") }
        return .double(double)
    }

    /// The value of a number written with a fraction or an exponent, when it is a whole number
    /// that fits in 64 bits: its significant digits, scaled by the exponent less the fraction's
    /// length, either padded with zeros or stripped of zeros that must be there.
    func wholeNumber(negative: Bool, integer: Range<Int>, fraction: Range<Int>, exponent: (digits: Range<Int>, negative: Bool)?) -> Int64? {
        let count = integer.count + fraction.count
        func digit(_ position: Int) -> Int64 {
            Int64(bytes[position < integer.count ? integer.lowerBound + position : fraction.lowerBound + position - integer.count] - UInt8(ascii: "0"))
        }
        guard let first = (0..<count).first(where: { digit($0) != 0 }) else { return 0 }
        var power = 0
        if let exponent {
            let significant = exponent.digits.drop(while: { bytes[$0] == UInt8(ascii: "0") })
            // No body is a billion digits long: such an exponent leaves nothing a whole Int64.
            guard significant.count <= 9 else { return nil }
            for position in significant { power = power * 10 + Int(bytes[position] - UInt8(ascii: "0")) }
            if exponent.negative { power = -power }
        }
        let scale = power - fraction.count
        var end = count
        if scale < 0 {
            guard first < count + scale else { return nil }
            end = count + scale
            guard (end..<count).allSatisfy({ digit($0) == 0 }) else { return nil }
        } else if end - first + scale > 19 {
            return nil
        }
        var value: Int64 = 0
        for step in (first..<end).map({ digit($0) }) + Array(repeating: 0, count: max(scale, 0)) {
            let (shifted, overflowTimes) = value.multipliedReportingOverflow(by: 10)
            let (next, overflowPlus) = negative ? shifted.subtractingReportingOverflow(step) : shifted.addingReportingOverflow(step)
            guard !overflowTimes, !overflowPlus else { return nil }
            value = next
        }
        return value
    }

    func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
}
