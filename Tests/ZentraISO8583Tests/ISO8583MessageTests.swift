import Testing
@testable import ZentraISO8583

/// SplitMix64: each property test reproduces from its seed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct ISO8583MessageTests {
    /// A message with random fields, each filled to a random legal length with printable ASCII.
    static func randomMessage(_ random: inout SeededGenerator) -> ISO8583Message {
        var message = ISO8583Message(mti: String(format4: Int.random(in: 0...9999, using: &random)))
        for field in 2...128 where Int.random(in: 0..<8, using: &random) == 0 {
            let format = ISO8583Layout.format(field)!
            let length: Int
            switch format {
            case .fixed(let fixed): length = fixed
            case .llvar(let max), .lllvar(let max): length = Int.random(in: 0...max, using: &random)
            }
            message[field] = String(decoding: (0..<length).map { _ in UInt8.random(in: 0x20...0x7E, using: &random) }, as: UTF8.self)
        }
        return message
    }

    @Test func encodingThenDecodingGivesTheMessageBack() throws {
        var random = SeededGenerator(state: 8583)
        for _ in 0..<2_000 {
            let message = Self.randomMessage(&random)
            #expect(try ISO8583Message.decode(try message.encoded()) == message)
        }
    }

    @Test func aSecondaryBitmapIsSentOnlyForFieldsPast64() throws {
        let low = try ISO8583Message(mti: "0800", fields: [7: "1202103000", 11: "000001", 70: "301"]).encoded()
        #expect(String(decoding: low[4..<20], as: UTF8.self) == "8220000000000000")
        #expect(String(decoding: low[20..<36], as: UTF8.self) == "0400000000000000")
        let primaryOnly = try ISO8583Message(mti: "0800", fields: [11: "000001"]).encoded()
        #expect(String(decoding: primaryOnly[4..<20], as: UTF8.self) == "0020000000000000")
        #expect(primaryOnly.count == 4 + 16 + 6)
    }

    @Test func variableFieldsCarryTheirLengthAndFixedOnesDoNot() throws {
        let bytes = try ISO8583Message(mti: "0100", fields: [2: "4111111111111111", 3: "000000"]).encoded()
        #expect(String(decoding: bytes[20...], as: UTF8.self) == "164111111111111111000000")
    }

    @Test func aCutMessageIsAFormatErrorNeverACrash() throws {
        var random = SeededGenerator(state: 43)
        for _ in 0..<300 {
            let bytes = try Self.randomMessage(&random).encoded()
            for end in [0, 3, 4, 19, 20, 35, 36] + (0..<30).map({ _ in Int.random(in: 0..<bytes.count, using: &random) }) where end < bytes.count {
                #expect(throws: ISO8583FormatError.self) { try ISO8583Message.decode(Array(bytes[..<end])) }
            }
        }
    }

    @Test func mutatedBytesDecodeOrFailCleanly() throws {
        var random = SeededGenerator(state: 7)
        for _ in 0..<5_000 {
            var bytes = try Self.randomMessage(&random).encoded()
            for _ in 0..<Int.random(in: 1...4, using: &random) where !bytes.isEmpty {
                bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            }
            if let decoded = try? ISO8583Message.decode(bytes) {
                // Whatever decodes encodes again to a message that decodes the same.
                #expect(try ISO8583Message.decode(try decoded.encoded()) == decoded)
            }
        }
    }

    @Test func lengthsBeyondTheLayoutAreRefused() throws {
        // Field 2 is at most 19 digits; a declared length of 99 is refused before reading.
        let bytes = Array("0100" .utf8) + Array("4000000000000000".utf8) + Array("99".utf8) + Array(repeating: UInt8(ascii: "1"), count: 99)
        let error = #expect(throws: ISO8583FormatError.self) { try ISO8583Message.decode(bytes) }
        #expect(error?.field == 2)
        #expect(throws: ISO8583FormatError.self) { try ISO8583Message(mti: "0100", fields: [3: "12345"]).encoded() }
        #expect(throws: ISO8583FormatError.self) { try ISO8583Message(mti: "0100", fields: [2: String(repeating: "1", count: 20)]).encoded() }
    }

    @Test func aFormatErrorKeepsTheFieldsReadBeforeIt() throws {
        var bytes = try ISO8583Message(mti: "0100", fields: [11: "123456", 37: "RRN000000001", 49: "840"]).encoded()
        bytes.removeLast()
        let error = #expect(throws: ISO8583FormatError.self) { try ISO8583Message.decode(bytes) }
        #expect(error?.field == 49)
        #expect(error?.partial?.mti == "0100")
        #expect(error?.partial?[11] == "123456")
        #expect(error?.partial?[37] == "RRN000000001")
    }

    @Test func answersTurnRequestsAndAdvicesOnly() {
        #expect(ISO8583Message.responseType(of: "0100") == "0110")
        #expect(ISO8583Message.responseType(of: "0120") == "0130")
        #expect(ISO8583Message.responseType(of: "0420") == "0430")
        #expect(ISO8583Message.responseType(of: "0800") == "0810")
        #expect(ISO8583Message.responseType(of: "0110") == nil)
        #expect(ISO8583Message.responseType(of: "0140") == nil)
    }

    @Test func theEntryModeSetsTheChannel() {
        #expect(NetworkAuthorization.channel(entryMode: "812", condition: nil, mcc: "5411") == .online)
        #expect(NetworkAuthorization.channel(entryMode: "051", condition: nil, mcc: "5411") == .inStore)
        #expect(NetworkAuthorization.channel(entryMode: "071", condition: nil, mcc: "5411") == .contactless)
        #expect(NetworkAuthorization.channel(entryMode: "051", condition: nil, mcc: "6011") == .atm)
        #expect(NetworkAuthorization.channel(entryMode: "011", condition: "08", mcc: "5411") == .moto)
    }

    @Test func theReferenceNamesTheTransactionWhateverTheAcquirersPadding() {
        #expect(NetworkAuthorization.reference(acquirer: "00000012345", transmitted: "1202103000", trace: "000001", retrieval: "RRN1        ")
            == "iso8583:12345:1202103000:000001:RRN1")
        #expect(NetworkAuthorization.reference(acquirer: "12345", transmitted: "1202103000", trace: "000001", retrieval: "RRN1")
            == "iso8583:12345:1202103000:000001:RRN1")
    }
}

extension String {
    init(format4 value: Int) {
        let digits = String(value)
        self = String(repeating: "0", count: 4 - digits.count) + digits
    }
}
