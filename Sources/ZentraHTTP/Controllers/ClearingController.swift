import HTTPTypes
import Hummingbird
import NIOCore
import ZentraApp
import ZentraCore
import ZentraStorage

/// The network's clearing records and files, what they made (transactions, reconciliation cases),
/// and settlement batches.
struct ClearingController {
    let write: WriteEndpoint
    let read: ReadEndpoint

    func register(on group: RouterGroup<AppRequestContext>) {
        group.post("/clearings") { request, context in
            try await write.run(request, context, input: ClearingInput.self) { tx, input in
                try Reply.json(try await ClearingService.clear(ClearingRequest(input), in: tx))
            }
        }
        group.get("/clearings") { request, context in
            let page = try request.pageRequest()
            let status = try request.query("status", as: ClearingStatus.self)
            return try await read.run(context) { try await $0.clearings.list(page, status: status) }
        }
        group.get("/clearings/{id}") { _, context in
            let id = try context.pathID("clearing", as: ClearingID.self)
            return try await read.run(context) { scope in
                try await scope.clearings.find(id).orMissing("clearing", id)
            }
        }
        group.get("/clearings/{id}/evidence") { _, context in
            let id = try context.pathID("clearing", as: ClearingID.self)
            return try await read.evidence(context) { try await ClearingEvidence.load(clearing: id, scope: $0) }
        }
        group.post("/clearing-files") { request, context in try await ingest(request, context) }
        group.get("/clearing-files/{id}") { _, context in
            let raw = try context.parameters.require("id")
            return try await read.run(context) { try await $0.clearingFiles.find(raw).orMissing("clearing_file", raw) }
        }

        group.get("/reconciliation-cases") { request, context in
            let page = try request.pageRequest()
            let status = try request.query("status", as: ReconciliationStatus.self)
            return try await read.run(context) { try await $0.reconciliationCases.list(page, status: status) }
        }
        group.get("/reconciliation-cases/{id}") { _, context in
            let id = try context.pathID("reconciliation_case", as: ReconciliationCaseID.self)
            return try await read.run(context) { scope in
                try await scope.reconciliationCases.find(id)
                    .orMissing("reconciliation_case", id)
            }
        }
        group.get("/reconciliation-cases/{id}/evidence") { _, context in
            let id = try context.pathID("reconciliation_case", as: ReconciliationCaseID.self)
            return try await read.evidence(context) { try await ClearingEvidence.load(reconciliationCase: id, scope: $0) }
        }
        group.post("/reconciliation-cases/{id}/assign") { request, context in
            let id = try context.pathID("reconciliation_case", as: ReconciliationCaseID.self)
            return try await write.run(request, context, input: AssignCaseInput.self) { tx, input in
                try Reply.json(try await ReconciliationService.assign(id, input, in: tx))
            }
        }
        group.post("/reconciliation-cases/{id}/resolve") { request, context in
            let id = try context.pathID("reconciliation_case", as: ReconciliationCaseID.self)
            return try await write.run(request, context, input: ResolveCaseInput.self) { tx, input in
                try Reply.json(try await ReconciliationService.resolve(id, input, in: tx))
            }
        }

        group.post("/settlements") { request, context in
            try await write.run(request, context, input: SettlementInput.self) { tx, input in
                try Reply.json(try await SettlementService.close(input, in: tx), status: .created)
            }
        }
        group.get("/settlements") { request, context in
            let page = try request.pageRequest()
            return try await read.run(context) { try await $0.settlements.list(page) }
        }
        group.get("/settlements/{id}") { _, context in
            let id = try context.pathID("settlement", as: SettlementID.self)
            return try await read.run(context) { try await SettlementDetail.load(id, scope: $0) }
        }

        group.get("/transactions") { request, context in
            let page = try request.pageRequest()
            let card = try request.queryID("card", "card", as: CardID.self)
            return try await read.run(context) { try await $0.cardTransactions.list(page, card: card) }
        }
        group.get("/transactions/{id}") { _, context in
            let id = try context.pathID("transaction", as: TransactionID.self)
            return try await read.run(context) { try await TransactionDetail.load(id, scope: $0) }
        }
    }

    /// Which line results the answer lists: every line, or only those that were not a clean match.
    enum LineDetail: String, CaseIterable {
        case all, exceptions, none
    }

    /// `POST /clearing-files?file_id=F`: the CSV is read as it arrives and each record posted as its
    /// own unit; line results are spooled to disk and streamed back once the body is read, so
    /// neither side holds the file, and the client is never asked to read while it still sends.
    func ingest(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let principal = try context.caller()
        let query = request.uri.queryParameters
        guard let fileID = query.get("file_id") else { throw DomainError.parameterMissing("file_id") }
        let detail = try request.query("lines", as: LineDetail.self) ?? .all
        guard let type = request.headers[.contentType], type.lowercased().hasPrefix("text/csv") else {
            throw DomainError(.unsupportedMediaType, code: "unsupported_media_type",
                              message: "Send the clearing file as text/csv (got \(request.headers[.contentType] ?? "no Content-Type")).")
        }
        let limits = write.services.configuration.clearingFileLimits
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limits.bytes_max {
            throw ClearingFileIngest.tooLarge("\(limits.bytes_max) bytes")
        }
        let scope = WriteScope(tenant: principal.tenant, actor: principal.actor, requestID: context.requestID)
        let ingest = try ClearingFileIngest(store: write.store, scope: scope, fileID: fileID, limits: limits)
        let spool = try SpoolFile()
        var first = true
        let summary = try await ingest.run(request.body.map { Array($0.readableBytesView) }) { line in
            switch detail {
            case .none: return
            case .exceptions where line.result == .matched: return
            default: break
            }
            try spool.append((first ? [] : [UInt8(ascii: ",")]) + line.json.serialized)
            first = false
        }
        // The summary without its closing brace: the lines follow inside the same object.
        let head = try ZentraJSON.encode(summary).dropLast() + Array(",\"lines\":[".utf8)
        let tail = Array("]}".utf8)
        let body = ResponseBody(contentLength: head.count + spool.size + tail.count) { writer in
            try await writer.write(ByteBuffer(bytes: head))
            try await spool.stream(to: &writer)
            try await writer.write(ByteBuffer(bytes: tail))
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "application/json"], body: body)
    }
}
