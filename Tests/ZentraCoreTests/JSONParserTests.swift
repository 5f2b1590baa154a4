import Foundation
import Testing
@testable import ZentraCore

/// The direct JSON reader agrees with Foundation's decoder on valid text and refuses invalid text.
@Suite struct JSONParserTests {
    static func randomValue(_ rng: inout SeededGenerator, depth: Int = 0) -> JSONValue {
        let strings = ["", "plain", "quote \" and \\ slash / tab \t newline \n", "é ünïcödé ✓ 💳", "\u{01}\u{1F}", "card_123"]
        switch Int.random(in: 0..<(depth > 3 ? 5 : 7), using: &rng) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &rng))
        case 2: return .int(Int64.random(in: Int64.min...Int64.max, using: &rng))
        case 3: return .double(Double(Int.random(in: -1_000_000...1_000_000, using: &rng)) + 0.25)
        case 4: return .string(strings.randomElement(using: &rng)!)
        case 5: return .array((0..<Int.random(in: 0..<5, using: &rng)).map { _ in randomValue(&rng, depth: depth + 1) })
        default:
            var fields: [String: JSONValue] = [:]
            for _ in 0..<Int.random(in: 0..<5, using: &rng) {
                fields[strings.randomElement(using: &rng)! + String(Int.random(in: 0..<9, using: &rng))] = randomValue(&rng, depth: depth + 1)
            }
            return .object(fields)
        }
    }

    @Test func readsBackWhatTheWriterWroteAndAgreesWithFoundation() throws {
        var rng = SeededGenerator(state: 0x4A53_4F4E)
        for _ in 0..<2_000 {
            let value = Self.randomValue(&rng)
            let text = value.serialized
            #expect(try JSONValue.parse(text) == value)
            #expect(try JSONDecoder().decode(JSONValue.self, from: Data(text)) == value)
        }
    }

    @Test(arguments: ["", "card_0VbsVQBTnhIWaf8GYEZi04", "\"", "\\", "a\"b\\c", "ends with \n", "\u{00}\u{01}\u{08}\u{0C}\u{1F} ctl",
                      "é ünïcödé ✓ 💳 / slash", "\t\r\n\"\\", String(repeating: "x", count: 300) + "\u{7F}\u{1B}"])
    func writesStringsByteForByteAsFoundation(_ string: String) throws {
        #expect(JSONValue.string(string).serialized == (try ZentraJSON.encode(string)))
    }

    @Test func readsEscapesWhitespaceAndNumbersAsTheStandardSays() throws {
        let text = #" { "a" : [ 1 , -0 , 2.5e3 , 1E-2 , 12345678901234567890 , true , false , null ] , "s" : "\u00e9\ud83d\udcb3\/\b\f\n\r\t\"\\" , "a" : {} } "#
        let value = try JSONValue.parse(Array(text.utf8))
        #expect(value == .object([
            "a": .object([:]),   // a repeated key keeps its last value
            "s": .string("é💳/\u{08}\u{0C}\n\r\t\"\\"),
        ]))
        let numbers = try JSONValue.parse(Array("[1, -0, 2.5e3, 1E-2, 12345678901234567890, 1.0]".utf8))
        #expect(numbers == .array([.int(1), .int(0), .double(2500), .double(0.01), .double(12345678901234567890), .double(1)]))
    }

    /// JSON Schema counts `1413.0` an integer; a request body reads it as one, exactly, from its
    /// digits: a Double would make 9007199254740993.0 ...992.
    @Test(arguments: [
        ("1413.0", 1413), ("1.413e3", 1413), ("14130e-1", 1413), ("-0.0", 0), ("0e99999999999", 0), ("-1.50E+1", -15),
        ("9007199254740993.0", 9_007_199_254_740_993), ("9223372036854775807.000", Int64.max), ("-9223372036854775808.0", Int64.min),
        ("922337203685477580.7e1", Int64.max), ("1e18", 1_000_000_000_000_000_000),
    ] as [(String, Int64)])
    func readsWholeNumbersOfARequestBodyAsIntegers(_ text: String, _ expected: Int64) throws {
        let (value, rewrote) = try JSONValue.parseRequestBody(Array("[\(text)]".utf8))
        #expect(value == .array([.int(expected)]) && rewrote)
        #expect(try JSONValue.parse(Array(text.utf8)) != .int(expected), "stored JSON reads as written")
    }

    @Test(arguments: ["1.5", "1e-1", "9223372036854775808.0", "-9223372036854775809.0", "1e19", "0.0000001e6", "1.0000000000000001",
                      "123", "30.27", "1e-999999999999"])
    func leavesOtherNumbersAsTheyWereRead(_ text: String) throws {
        let (value, rewrote) = try JSONValue.parseRequestBody(Array(text.utf8))
        let asStored = try JSONValue.parse(Array(text.utf8))
        #expect(!rewrote && value == asStored)
    }

    @Test(arguments: [
        "", " ", "{", "}", "{\"a\" 1}", "{a:1}", "[01]", "[1.]", "[.5]", "[1e]", "[-]", "[+1]",
        "\"unterminated", "\"tab\there\"", "\"\\x\"", "\"\\u12\"", "\"\\ud800\"", "\"\\udc00\"", "tru", "nul", "[1] 2",
        "[1e999]", "NaN", "'single'",
    ])
    func refusesInvalidText(_ text: String) {
        #expect(throws: JSONValue.ParseError.self) { try JSONValue.parse(Array(text.utf8)) }
        #expect(throws: (any Error).self) { try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) }
    }

    /// Foundation's decoder lets a trailing comma through; RFC 8259 does not, and neither does Zentra.
    @Test(arguments: ["[1,]", "{\"a\":1,}"])
    func refusesTrailingCommas(_ text: String) {
        #expect(throws: JSONValue.ParseError.self) { try JSONValue.parse(Array(text.utf8)) }
    }

    @Test func refusesInvalidUTF8AndDeepNesting() {
        #expect(throws: JSONValue.ParseError.self) { try JSONValue.parse([0x22, 0xC3, 0x28, 0x22]) }
        let deep = String(repeating: "[", count: JSONValue.parseDepth_max + 1) + String(repeating: "]", count: JSONValue.parseDepth_max + 1)
        #expect(throws: JSONValue.ParseError.self) { try JSONValue.parse(Array(deep.utf8)) }
        let allowed = String(repeating: "[", count: JSONValue.parseDepth_max) + String(repeating: "]", count: JSONValue.parseDepth_max)
        #expect((try? JSONValue.parse(Array(allowed.utf8))) != nil)
    }
}
