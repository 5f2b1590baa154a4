/// An RFC 4180 CSV parser fed in chunks of any size, so a file is never held whole: quoted fields
/// (with `""` for a quote, and commas or line breaks inside), LF or CRLF line ends, and the line
/// each record starts on. A record longer than `recordBytes_max` is reported as an error and
/// skipped rather than buffered without bound.
public struct CSVStreamParser: Sendable {
    public struct Record: Sendable, Hashable {
        /// The 1-based line the record starts on (the header is line 1).
        public let line: Int64
        public let fields: [String]
        /// Why the record could not be read; `fields` is then empty.
        public let error: String?
    }

    public let recordBytes_max: Int
    private var fields: [String] = []
    private var field: [UInt8] = []
    private var inQuotes = false
    private var quotePending = false
    private var fieldWasQuoted = false
    private var recordBytes = 0
    private var recordHasContent = false
    private var malformed: String?
    private var line: Int64 = 1
    private var recordLine: Int64 = 1

    public init(recordBytes_max: Int = 64 * 1024) {
        self.recordBytes_max = recordBytes_max
    }

    private static let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ","), newline = UInt8(ascii: "\n"), carriageReturn = UInt8(ascii: "\r")

    public mutating func feed<Bytes: Sequence<UInt8>>(_ bytes: Bytes, _ emit: (Record) throws -> Void) rethrows {
        for byte in bytes {
            if inQuotes {
                if quotePending {
                    quotePending = false
                    if byte == Self.quote {
                        append(byte)
                        continue
                    }
                    inQuotes = false
                    // The closing quote was the end of the quoted part; this byte is read as unquoted.
                } else if byte == Self.quote {
                    quotePending = true
                    continue
                } else {
                    if byte == Self.newline { line += 1 }
                    append(byte)
                    continue
                }
            }
            switch byte {
            case Self.quote:
                if field.isEmpty && !fieldWasQuoted {
                    inQuotes = true
                    fieldWasQuoted = true
                    recordHasContent = true
                } else {
                    malformed = malformed ?? "a quote inside an unquoted field (quote the whole field and double the quote)"
                }
            case Self.comma:
                endField()
                recordHasContent = true
            case Self.carriageReturn:
                continue
            case Self.newline:
                try endRecord(emit)
                line += 1
                recordLine = line
            default:
                if fieldWasQuoted { malformed = malformed ?? "text after a closing quote" }
                append(byte)
            }
        }
    }

    /// Ends the last record (a file need not end with a line break).
    public mutating func finish(_ emit: (Record) throws -> Void) rethrows {
        if inQuotes && !quotePending { malformed = malformed ?? "a quoted field is not closed" }
        inQuotes = false
        quotePending = false
        try endRecord(emit)
    }

    private mutating func append(_ byte: UInt8) {
        recordBytes += 1
        recordHasContent = true
        if recordBytes > recordBytes_max {
            malformed = malformed ?? "the record is longer than \(recordBytes_max) bytes"
            return
        }
        if malformed == nil { field.append(byte) }
    }

    private mutating func endField() {
        if malformed == nil { fields.append(String(decoding: field, as: UTF8.self)) }
        field.removeAll(keepingCapacity: true)
        fieldWasQuoted = false
    }

    private mutating func endRecord(_ emit: (Record) throws -> Void) rethrows {
        if inQuotes { return }
        defer {
            fields.removeAll(keepingCapacity: true)
            field.removeAll(keepingCapacity: true)
            fieldWasQuoted = false
            recordBytes = 0
            recordHasContent = false
            malformed = nil
        }
        guard recordHasContent || !field.isEmpty else { return }   // a blank line
        endField()
        if let malformed {
            try emit(Record(line: recordLine, fields: [], error: malformed))
        } else {
            try emit(Record(line: recordLine, fields: fields, error: nil))
        }
    }
}
