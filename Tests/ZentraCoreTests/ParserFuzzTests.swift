import Foundation
import Testing
@testable import ZentraCore

/// The two hand-written parsers meet hostile input: random and mutated bytes, deep nesting, huge
/// numbers, invalid UTF-8, cut input. They never crash; the JSON reader refuses with its one error
/// type, and the CSV parser reads a file the same whatever the chunks it arrives in.
@Suite struct ParserFuzzTests {
    /// Valid documents, then each mutated: a byte changed, dropped, inserted or repeated, or the text cut.
    static func mutate(_ bytes: [UInt8], _ rng: inout SeededGenerator) -> [UInt8] {
        var bytes = bytes
        let hostile: [UInt8] = [0x00, 0x22, 0x5C, 0x7B, 0x7D, 0x5B, 0x5D, 0x2C, 0x3A, 0x80, 0xC3, 0xE2, 0xF0, 0xFF, 0x2D, 0x65, 0x30]
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            let index = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &rng)
            switch Int.random(in: 0..<5, using: &rng) {
            case 0 where !bytes.isEmpty: bytes[index] = hostile.randomElement(using: &rng)!
            case 1 where !bytes.isEmpty: bytes.remove(at: index)
            case 2: bytes.insert(UInt8.random(in: 0...255, using: &rng), at: index)
            case 3 where !bytes.isEmpty: bytes.insert(contentsOf: bytes[index..<min(bytes.count, index + 8)], at: index)
            default: bytes = Array(bytes.prefix(index))
            }
        }
        return bytes
    }

    /// Parses or refuses with `ParseError`; any other outcome is recorded.
    static func parseOrRefuse(_ bytes: [UInt8]) -> JSONValue? {
        do {
            return try JSONValue.parse(bytes)
        } catch is JSONValue.ParseError {
            return nil
        } catch {
            Issue.record("\(bytes): \(error) is not a ParseError")
            return nil
        }
    }

    @Test func theJSONReaderSurvivesMutatedAndRandomInput() {
        var rng = SeededGenerator(state: 0xF022_0001)
        var parsed = 0
        for round in 0..<20_000 {
            let bytes: [UInt8]
            if round % 5 == 0 {
                bytes = (0..<Int.random(in: 0..<64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            } else {
                bytes = Self.mutate(JSONParserTests.randomValue(&rng).serialized, &rng)
            }
            if let value = Self.parseOrRefuse(bytes) {
                parsed += 1
                // What it accepts, it writes out in a form it reads back to the same text (a
                // whole-valued 7e6 is written 7000000, so the text, not the case, is compared).
                #expect(Self.parseOrRefuse(value.serialized)?.serialized == value.serialized)
            }
        }
        #expect(parsed > 100, "mutations sometimes stay valid JSON: the fuzzer reaches the happy path too")
    }

    @Test(arguments: [
        "1e999999", "-1e999999", "123456789012345678901234567890", "-9223372036854775809", "9223372036854775808",
        "0.0000000000000000000000000000000001e-400", "1E400", "-0", "[1e309]", "{\"amount_minor\": 99999999999999999999}",
        "\"\\ud800\"", "\"\\udc00\\ud800\"", "\"\\u12\"", "\"\\x\"", "tru", "nul", "[", "{\"a\"", "{\"a\":", "\"open",
    ])
    func hostileNumbersStringsAndCutInputAreHandled(_ text: String) {
        _ = Self.parseOrRefuse(Array(text.utf8))
    }

    @Test func deepAndWideNestingIsBounded() {
        for opener in ["[", "{\"a\":"] {
            let deep = String(repeating: opener, count: 100_000)
            #expect(Self.parseOrRefuse(Array(deep.utf8)) == nil)
        }
        let wide = "[" + Array(repeating: "[]", count: 100_000).joined(separator: ",") + "]"
        #expect(Self.parseOrRefuse(Array(wide.utf8))?.arrayCount == 100_000)
        for invalid: [UInt8] in [[0x22, 0xFF, 0x22], [0x22, 0xC0, 0xAF, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22], [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22]] {
            #expect(Self.parseOrRefuse(invalid) == nil, "invalid UTF-8 \(invalid)")
        }
    }

    @Test func theCSVParserReadsTheSameWhateverTheChunksAndSurvivesMutations() {
        var rng = SeededGenerator(state: 0xC5F0_0001)
        let cells = ["plain", "", "with,comma", "with \"quote\"", "line\nbreak", "é ✓", "  spaced  ", "12345"]
        for _ in 0..<2_000 {
            var text = ""
            for _ in 0..<Int.random(in: 1...6, using: &rng) {
                let row = (0..<Int.random(in: 1...5, using: &rng)).map { _ -> String in
                    let cell = cells.randomElement(using: &rng)!
                    return cell.contains(where: { ",\"\n".contains($0) }) || Bool.random(using: &rng)
                        ? "\"" + cell.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : cell
                }
                text += row.joined(separator: ",") + (Bool.random(using: &rng) ? "\r\n" : "\n")
            }
            for bytes in [Array(text.utf8), Self.mutate(Array(text.utf8), &rng)] {
                let whole = Self.records(bytes, chunks: [bytes.count], recordBytes_max: 64)
                var cuts: [Int] = []
                var left = bytes.count
                while left > 0 {
                    let cut = Int.random(in: 1...max(1, left), using: &rng)
                    cuts.append(cut)
                    left -= cut
                }
                #expect(Self.records(bytes, chunks: cuts, recordBytes_max: 64) == whole, "chunked as \(cuts)")
            }
        }
    }

    static func records(_ bytes: [UInt8], chunks: [Int], recordBytes_max: Int) -> [CSVStreamParser.Record] {
        var parser = CSVStreamParser(recordBytes_max: recordBytes_max)
        var records: [CSVStreamParser.Record] = []
        var start = 0
        for size in chunks {
            parser.feed(bytes[start..<min(bytes.count, start + size)]) { records.append($0) }
            start += size
        }
        parser.finish { records.append($0) }
        return records
    }
}

extension JSONValue {
    fileprivate var arrayCount: Int? { if case .array(let items) = self { items.count } else { nil } }
}
