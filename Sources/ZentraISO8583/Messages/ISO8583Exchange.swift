import Logging
import ZentraApp
import ZentraCore
import ZentraStorage

/// Answers a card network's messages with the engine `POST /authorizations` runs: the same batch of
/// decisions, policy, ledger, events, evidence and replays by `network_reference`, and the same
/// reversal use case, with no HTTP in between. Each answer goes back after the commit that holds it.
///
/// The link has no API key: the card, found by its PAN, names the tenant. Decisions are recorded
/// with the actor `network:iso8583`.
public struct ISO8583Exchange: Sendable {
    let store: Store
    let authorizer: Authorizer
    let vault: CardVault
    let logger: Logger
    /// Cards found by PAN, by the PAN's keyed hash.
    let cards = BoundedCache<String, PANIndex.Entry>(capacity: 200_000)

    public static let actor = "network:iso8583"

    public init(store: Store, authorizer: Authorizer, vault: CardVault, logger: Logger) {
        self.store = store
        self.authorizer = authorizer
        self.vault = vault
        self.logger = logger
    }

    /// The answer to a frame; nil when the frame is not a request or advice this link could
    /// answer at all (no readable message type), and the connection should close.
    public func answer(frame: [UInt8]) async -> ISO8583Message? {
        do {
            return await answer(try ISO8583Message.decode(frame))
        } catch {
            guard let partial = error.partial, let type = ISO8583Message.responseType(of: partial.mti) else { return nil }
            logger.debug("ISO 8583 format error", metadata: ["mti": "\(partial.mti)", "reason": "\(error.message)"])
            return Self.reply(type, to: partial, code: ResponseCode.formatError)
        }
    }

    /// The answer to a well-formed message; nil for one that is not a request or an advice.
    public func answer(_ message: ISO8583Message) async -> ISO8583Message? {
        guard let type = ISO8583Message.responseType(of: message.mti) else { return nil }
        do {
            switch message.mti {
            case "0800": return try networkManagement(message, type)
            case "0100", "0120": return try await authorize(message, type)
            case "0400", "0420": return try await reverse(message, type)
            default: throw ISO8583Refusal(code: ResponseCode.functionNotSupported, reason: "message type \(message.mti) is not supported")
            }
        } catch let refusal as ISO8583Refusal {
            logger.debug("ISO 8583 refused", metadata: ["mti": "\(message.mti)", "code": "\(refusal.code)", "reason": "\(refusal.reason)"])
            return Self.reply(type, to: message, code: refusal.code)
        } catch {
            // The database is unreachable or failed: answered, nothing written.
            logger.error("ISO 8583 message failed", metadata: ["mti": "\(message.mti)", "error": "\(error)"])
            return Self.reply(type, to: message, code: ResponseCode.systemMalfunction)
        }
    }

    /// Fields an answer repeats from its request, when the request had them.
    static let echoed = [3, 4, 7, 11, 32, 37, 41, 42, 49, 70, 90]

    /// An answer of `type` echoing `request`'s fields, with its response code. The PAN comes back
    /// masked to its last four digits.
    static func reply(_ type: String, to request: ISO8583Message, code: String) -> ISO8583Message {
        var answer = ISO8583Message(mti: type)
        for field in echoed { answer[field] = request[field] }
        if let pan = request[2] { answer[2] = String(repeating: "*", count: max(0, pan.count - 4)) + pan.suffix(4) }
        answer[39] = code
        return answer
    }

    /// `0800`: logon (70 = `001`), logoff (`002`) and echo (`301`).
    private func networkManagement(_ message: ISO8583Message, _ type: String) throws(ISO8583Refusal) -> ISO8583Message {
        switch try message.digits(70) {
        case "001", "002", "301": return Self.reply(type, to: message, code: ResponseCode.approved)
        default: throw ISO8583Refusal(code: ResponseCode.functionNotSupported, reason: "network management code \(message[70] ?? "")")
        }
    }

    /// `0100`: the card by its PAN and expiry, then a decision in the next batch. `0120`: the
    /// decision the network made in stand-in, recorded as it was made (see `DecisionRecord.Outcome`)
    /// and acknowledged `00`; its expiry is not held against the card, the network decided already.
    private func authorize(_ message: ISO8583Message, _ type: String) async throws -> ISO8583Message {
        let fields = try NetworkAuthorization(message)
        let advice = fields.network.standInResponseCode != nil
        guard fields.amountMinor > 0 else { throw ISO8583Refusal(code: ResponseCode.invalidAmount, reason: "the amount is zero") }
        let card = try await card(pan: fields.pan)
        guard advice || (card.expYear % 100 == fields.expiry.year && card.expMonth == fields.expiry.month) else {
            throw ISO8583Refusal(code: ResponseCode.expiredCard, reason: "field 14 is not the card's expiry")
        }
        let request: AuthorizationRequest
        do {
            request = try AuthorizationRequest(
                AuthorizeInput(card: Reference(card.card), amountMinor: fields.amountMinor, currency: fields.currency.code,
                               merchant: fields.merchant, channel: fields.channel.rawValue, deviceLocation: nil,
                               networkReference: fields.networkReference),
                receivedAt: store.clock.now(), network: fields.network)
        } catch let error as DomainError {
            throw ISO8583Refusal.format(error.message)
        }
        let authorization: Authorization
        do {
            authorization = try await authorizer.authorize(request, scope: WriteScope(tenant: card.tenant, actor: Self.actor, requestID: nil),
                                                           keyID: nil).value
        } catch let error as DomainError where error.code == "network_reference_reused" {
            throw ISO8583Refusal(code: ResponseCode.duplicateTransmission, reason: error.message)
        } catch let error as DomainError where error.kind != .internalError && error.kind != .unavailable {
            throw ISO8583Refusal(code: error.kind == .notFound ? ResponseCode.unknownCard : ResponseCode.formatError, reason: error.message)
        }
        if advice { return Self.reply(type, to: message, code: ResponseCode.approved) }
        var answer = Self.reply(type, to: message, code: authorization.responseCode)
        if authorization.responseCode == ResponseCode.approved { answer[38] = Self.approvalCode(authorization.id) }
        return answer
    }

    /// Field 38: six characters derived from the authorization's id, so a repeated message gets the
    /// same code back.
    static func approvalCode(_ id: AuthorizationID) -> String {
        String(id.rawValue.suffix(6)).uppercased()
    }

    /// `0400` / `0420`: releases the original's hold (all of it, or down to field 95's amount). An
    /// original already reversed, declined or expired is answered `00` and nothing changes.
    private func reverse(_ message: ISO8583Message, _ type: String) async throws -> ISO8583Message {
        let fields = try NetworkReversal(message)
        let card = try await card(pan: fields.pan)
        guard let original = try await store.read(tenant: card.tenant, { try await $0.authorizations.find(networkReference: fields.originalReference) }),
              original.authorization.card == card.card
        else {
            throw ISO8583Refusal(code: ResponseCode.unknownOriginal, reason: "no authorization \(fields.originalReference) on this card")
        }
        let id = original.authorization.id
        do {
            _ = try await store.write(WriteScope(tenant: card.tenant, actor: Self.actor, requestID: nil)) { tx in
                try await AuthorizationService.reverse(id, ReverseInput(remainingMinor: fields.remainingMinor), in: tx)
            }
        } catch let error as DomainError where error.code == "authorization_not_held" {
            // Reversed, declined or expired already: nothing to release, and that is the answer
            // to a repeated reversal. A cleared original moved its money: it cannot be reversed.
            let status = try await store.read(tenant: card.tenant, { try await $0.authorizations.find(original.authorization.id) })?.authorization.status
            if status == .cleared { throw ISO8583Refusal(code: ResponseCode.invalidTransaction, reason: error.message) }
        } catch let error as DomainError where error.kind == .invalidRequest {
            throw ISO8583Refusal(code: ResponseCode.invalidAmount, reason: error.message)
        }
        return Self.reply(type, to: message, code: ResponseCode.approved)
    }

    /// The card a PAN names. A card's PAN, tenant and expiry never change, so what was found once is
    /// kept (by the PAN's keyed hash, never the PAN): most messages then read nothing before their
    /// decision. A PAN not found is asked again each time (the card may be issued since).
    private func card(pan: String) async throws -> PANIndex.Entry {
        let hash = vault.lookupHash(pan: pan)
        if let known = cards[hash] { return known }
        guard let found = try await PANIndex.card(panHash: hash, engine: store.engine) else {
            throw ISO8583Refusal(code: ResponseCode.unknownCard, reason: "no card has this PAN")
        }
        cards.keep(found, for: hash)
        return found
    }
}
