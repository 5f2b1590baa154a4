import Crypto
import ZentraCore
import ZentraStorage

/// What happened to one line of a clearing file.
public struct ClearingFileLine: Sendable {
    public enum Result: String, Sendable {
        case matched, mismatched, unmatched, duplicate, failed
    }

    public let line: Int64
    public let clearingID: String?
    public let result: Result
    public let clearing: ClearingID?
    public let reconciliationCase: ReconciliationCaseID?
    public let code: String?
    public let reason: String?

    public var json: JSONValue {
        var fields: [String: JSONValue] = ["line": .int(line), "result": .string(result.rawValue)]
        if let clearingID { fields["clearing_id"] = .string(clearingID) }
        if let clearing { fields["clearing"] = .string(clearing.rawValue) }
        if let reconciliationCase { fields["reconciliation_case"] = .string(reconciliationCase.rawValue) }
        if let code { fields["code"] = .string(code) }
        if let reason { fields["reason"] = .string(reason) }
        return .object(fields)
    }
}

/// Ingests a CSV clearing file as it streams in, `window` records at a time, each window planned
/// and written set-based (`ClearingWindow`) in one unit of work and one commit: one bad line is
/// reported (line number and reason) and the others go on.
/// Memory stays flat: the parser holds one record, and line results go to `onLine` as they are known.
public struct ClearingFileIngest: Sendable {
    public static let columns = ["clearing_id", "authorization", "network_reference", "card", "amount_minor", "currency",
                                 "merchant_id", "merchant_name", "mcc", "country"]
    /// A run not heard of for this long (its server died) may be taken over by a new one.
    public static let staleRunSeconds: Int64 = 15 * 60

    /// How large one file may be: past either bound the run stops with 413 (lines already posted
    /// stay posted; the same `file_id` sent again reports them as duplicates).
    public struct Limits: Sendable, Hashable {
        public var bytes_max: Int = 256 << 20
        public var records_max: Int = 1_000_000

        public init(bytes_max: Int = 256 << 20, records_max: Int = 1_000_000) {
            self.bytes_max = bytes_max
            self.records_max = records_max
        }
    }

    public let store: Store
    public let scope: WriteScope
    public let fileID: String
    public let window: Int
    public let limits: Limits

    public init(store: Store, scope: WriteScope, fileID: String, limits: Limits = Limits()) throws {
        self.store = store
        self.scope = scope
        self.fileID = try Validate.text(fileID, "file_id", max: 128)
        self.window = 256
        self.limits = limits
    }

    public static func tooLarge(_ what: String) -> DomainError {
        DomainError(.payloadTooLarge, code: "payload_too_large",
                    message: "The clearing file has more than \(what); split it into several files.")
    }

    public func run<Chunks: AsyncSequence>(_ chunks: Chunks, onLine: (ClearingFileLine) throws -> Void) async throws -> ClearingFileSummary
    where Chunks.Element == [UInt8] {
        let startedAt = store.clock.now()
        let fileID = fileID
        guard let claim = try await store.write(scope, { tx in
            try await tx.clearingFiles.claim(fileID, staleBefore: tx.now.adding(seconds: -Self.staleRunSeconds))
        }) else {
            throw DomainError(.conflict, code: "clearing_file_in_progress", message: "File \(fileID) is being ingested by another request.",
                              param: "file_id")
        }
        do {
            var parser = CSVStreamParser()
            var digest = SHA256()
            var header: [String: Int]?
            var pending: [CSVStreamParser.Record] = []
            var counts = ClearingFileSummary.Counts()
            func flush() async throws {
                var start = 0
                while start < pending.count {
                    let slice = Array(pending[start..<min(start + window, pending.count)])
                    for line in try await runWindow(slice, header: header ?? [:]) {
                        switch line.result {
                        case .matched: counts.matched += 1
                        case .mismatched: counts.mismatched += 1
                        case .unmatched: counts.unmatched += 1
                        case .duplicate: counts.duplicates += 1
                        case .failed: counts.failed += 1
                        }
                        try onLine(line)
                    }
                    start += window
                }
                pending.removeAll(keepingCapacity: true)
            }
            var refusal: DomainError?
            var records = 0, bytes = 0
            let take = { (record: CSVStreamParser.Record) in
                guard header != nil else {
                    do throws(DomainError) { header = try Self.header(record) } catch { refusal = error }
                    return
                }
                records += 1
                guard records <= limits.records_max else {
                    refusal = Self.tooLarge("\(limits.records_max) records")
                    return
                }
                pending.append(record)
            }
            for try await chunk in chunks {
                bytes += chunk.count
                guard bytes <= limits.bytes_max else { throw Self.tooLarge("\(limits.bytes_max) bytes") }
                digest.update(data: chunk)
                parser.feed(chunk, take)
                if let refusal { throw refusal }
                if pending.count >= window { try await flush() }
            }
            parser.finish(take)
            if let refusal { throw refusal }
            guard header != nil else { throw DomainError.invalidRequest("The file is empty: a header row is expected (\(Self.columns.joined(separator: ","))).") }
            try await flush()
            let sha256 = digest.finalize().map { String(format: "%02x", $0) }.joined()
            let summary = ClearingFileSummary(fileId: fileID, runs: claim.runs, sha256: sha256, replayed: claim.previousDigest == sha256,
                                              counts: counts, startedAt: startedAt, completedAt: store.clock.now())
            return try await store.write(scope) { tx in
                try await tx.clearingFiles.complete(summary)
                try tx.emit(.clearingFileProcessed, objectType: .clearingFile, objectID: fileID, data: summary)
                tx.audit(.event(.clearingFileProcessed), objectType: .clearingFile, objectID: fileID, context: try JSONValue.from(summary))
                return summary
            }
        } catch {
            try? await store.write(scope) { tx in try await tx.clearingFiles.abandon(fileID) }
            throw error
        }
    }

    /// The header row names the columns; their order is free, every one is required, others are ignored.
    static func header(_ record: CSVStreamParser.Record) throws(DomainError) -> [String: Int] {
        if let error = record.error { throw DomainError.invalidRequest("The header row cannot be read: \(error).") }
        var index: [String: Int] = [:]
        for (position, name) in record.fields.enumerated() {
            index[name.trimming(.whitespaces).lowercased()] = position
        }
        let missing = columns.filter { index[$0] == nil }
        guard missing.isEmpty else {
            throw DomainError.invalidRequest("The header row lacks the column(s) \(missing.joined(separator: ", ")); expected \(columns.joined(separator: ",")).")
        }
        return index
    }

    /// Runs a window of records set-based in one unit of work and one commit (`ClearingWindow`):
    /// a record that is refused is answered with its line and reason, and changes nothing.
    func runWindow(_ records: [CSVStreamParser.Record], header: [String: Int]) async throws -> [ClearingFileLine] {
        var lines = [ClearingFileLine?](repeating: nil, count: records.count)
        var requests: [(Int, ClearingRequest)] = []
        for (index, record) in records.enumerated() {
            do {
                requests.append((index, try request(record, header: header)))
            } catch let error as DomainError {
                lines[index] = Self.failed(record, header: header, error)
            }
        }
        let (fileRecords, checked, fileID) = (records, requests, fileID)
        let posted = try await store.write(scope) { tx in
            try await tx.clearingFiles.touch(fileID)
            var window = try await ClearingWindow.open(checked.map(\.1), in: tx)
            var answers: [(Int, ClearingFileLine)] = []
            for (index, request) in checked {
                do {
                    let outcome = try window.clear(request, in: tx)
                    let clearing = outcome.value
                    let result: ClearingFileLine.Result = switch outcome {
                    case .existing: .duplicate
                    case .created: ClearingFileLine.Result(rawValue: clearing.status.rawValue) ?? .failed
                    }
                    answers.append((index, ClearingFileLine(line: fileRecords[index].line, clearingID: clearing.clearingId, result: result,
                                                            clearing: clearing.id, reconciliationCase: clearing.reconciliationCase,
                                                            code: nil, reason: nil)))
                } catch let error as DomainError where error.kind != .unavailable && error.kind != .internalError {
                    answers.append((index, Self.failed(fileRecords[index], header: header, error)))
                }
            }
            try await window.write(in: tx)
            return answers
        }
        for (index, line) in posted { lines[index] = line }
        return lines.compactMap { $0 }
    }

    /// A record read into a clearing request, or the reason it cannot be one.
    func request(_ record: CSVStreamParser.Record, header: [String: Int]) throws -> ClearingRequest {
        if let error = record.error { throw DomainError.invalidRequest("The line cannot be read: \(error).") }
        func field(_ name: String) -> String {
            guard let index = header[name], index < record.fields.count else { return "" }
            return record.fields[index].trimming(.whitespaces)
        }
        let amountText = field("amount_minor")
        guard let amount = Int64(amountText) else {
            throw DomainError.parameterInvalid("amount_minor", "'\(amountText)' is not an integer count of minor units")
        }
        let input = ClearingInput(
            clearingId: field("clearing_id"), authorization: Reference(field("authorization")), networkReference: field("network_reference"),
            card: Reference(field("card")), amountMinor: amount, currency: field("currency"),
            merchant: Merchant(id: field("merchant_id"), name: field("merchant_name"), mcc: field("mcc"), country: field("country")))
        return try ClearingRequest(input, fileID: fileID, fileLine: record.line)
    }

    /// A line that posted nothing, with its `clearing_id` when the line could be read that far.
    static func failed(_ record: CSVStreamParser.Record, header: [String: Int], _ error: DomainError) -> ClearingFileLine {
        let clearingID = header["clearing_id"].flatMap { $0 < record.fields.count ? record.fields[$0].trimming(.whitespaces) : nil }
        return ClearingFileLine(line: record.line, clearingID: clearingID?.isEmpty == false ? clearingID : nil, result: .failed, clearing: nil,
                                reconciliationCase: nil, code: error.code,
                                reason: error.param.map { "\($0): \(error.message)" } ?? error.message)
    }
}
