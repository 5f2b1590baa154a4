import ZentraCore
import ZentraStorage

/// One network request among a batch of decisions.
public struct DecisionItem: Sendable {
    public let request: AuthorizationRequest
    public let scope: WriteScope
    /// The API key the request came with: checked again inside the transaction, so a decision
    /// commits only under a key that is still valid, however the key was looked up before.
    public let keyID: String?
    /// The customer's answer, when its decisioning webhook was asked already.
    public let customer: CustomerDecision?

    public init(request: AuthorizationRequest, scope: WriteScope, keyID: String?, customer: CustomerDecision? = nil) {
        self.request = request
        self.scope = scope
        self.keyID = keyID
        self.customer = customer
    }
}

/// What a request of a batch comes to: a decision (new, or the first one for its network
/// reference), or the customer's webhook to ask first, with nothing written.
public enum DecisionAnswer: Sendable {
    case decided(ReferencedOutcome<Authorization>)
    case askCustomer(CustomerDecisionRequest)
}

/// Authorization decisions, set-based: the requests that arrive while a transaction runs are decided
/// together in the next one (`Store.run(_:in:)`). Per tenant of the batch: every card's state read
/// in one statement with the network references (`DecisionReads` says when it is locked; on
/// PostgreSQL none is read when the process remembers every card: `DecisionMemory`), each request
/// decided in memory in arrival order by the pure policy, then each table written once with each
/// decision's event (rendered from its record when read) and audit record. Nothing
/// is answered before the commit that holds it. Decisions never wait on a card's lock: a card
/// another transaction holds is decided in the next one.
public struct AuthorizationBatch: StoreBatchWork {
    let vault: CardVault

    public init(vault: CardVault) {
        self.vault = vault
    }

    /// A batch of one tenant's decisions writes in one statement, which may commit alone; a batch
    /// of several tenants writes one statement per tenant, all in one transaction.
    public func mayRunWithoutTransaction(_ items: [DecisionItem]) -> Bool {
        Set(items.map(\.scope.tenant)).count == 1
    }

    public func run(_ items: [DecisionItem], in tx: BatchTransaction) async throws -> [BatchOutcome<DecisionAnswer>] {
        var outcomes = [BatchOutcome<DecisionAnswer>?](repeating: nil, count: items.count)
        for tenant in Set(items.map(\.scope.tenant)).sorted() {
            let indices = items.indices.filter { items[$0].scope.tenant == tenant }
            for (index, outcome) in try await decide(indices.map { ($0, items[$0]) }, tenant: tenant, in: tx) {
                outcomes[index] = outcome
            }
        }
        return outcomes.map { $0 ?? .failure(DomainError.invariantViolated("a decision was left unanswered")) }
    }

    /// One tenant's requests, by their index in the batch: read, decide in memory, write.
    private func decide(_ items: [(Int, DecisionItem)], tenant: TenantID, in tx: BatchTransaction) async throws
        -> [Int: BatchOutcome<DecisionAnswer>]
    {
        let reads = try await tx.read(tenant, keys: Set(items.compactMap(\.1.keyID)), cards: Set(items.map(\.1.request.card)),
                                      references: Set(items.map(\.1.request.networkReference)))
        var outcomes: [Int: BatchOutcome<DecisionAnswer>] = [:]
        var plan = Plan(states: reads.cards)
        for (index, item) in items {
            if let key = item.keyID, !reads.unrevokedKeys.contains(key) {
                outcomes[index] = .failure(DomainError.unauthenticated("The API key is invalid or has been revoked."))
            } else if reads.held.contains(item.request.card) {
                outcomes[index] = .later
            } else {
                do {
                    outcomes[index] = try await plan.add(item, index: index, decided: reads.decided, tenant: tenant, vault: vault, in: tx)
                } catch {
                    outcomes[index] = .failure(error)
                }
            }
        }
        let decidedOn = Set(plan.writes.map(\.record.card.card))
        try await tx.write(tenant, plan.writes, cards: decidedOn.sorted().compactMap { plan.states[$0] },
                           keys: Set(items.compactMap(\.1.keyID)).intersection(reads.unrevokedKeys))
        // Requests that repeat a reference decided before this batch answer that decision.
        let earlier = Set(plan.replays.values)
        if !earlier.isEmpty {
            let stored = try await tx.scope(tenant).authorizations.findAll(earlier)
            for (index, id) in plan.replays {
                guard let first = stored[id]?.authorization else {
                    outcomes[index] = .failure(DomainError.invariantViolated("authorization \(id) vanished"))
                    continue
                }
                outcomes[index] = Plan.replay(of: first, by: items.first { $0.0 == index }!.1.request)
            }
        }
        return outcomes
    }

    static func audit(_ record: DecisionRecord, _ decision: PolicyDecision, hold: JournalEntryID?) -> BatchTransaction.Audit {
        let outcome = record.outcome(decision)
        return BatchTransaction.Audit(.authorizationDecided, objectType: .authorization, objectID: record.id.rawValue, context: .object([
            "card": .string(record.card.card.rawValue), "status": .string(outcome.status.rawValue),
            "decline_reason": outcome.declineReason.map { .string($0.rawValue) } ?? .null,
            "deciding_rule": decision.decidingRule.map { .string($0.rawValue) } ?? .null,
            "response_code": .string(outcome.responseCode), "amount_minor": .int(record.amount.minor),
            "hold_journal_entry": hold.map { .string($0.rawValue) } ?? .null,
        ]))
    }

    /// A tenant's decisions being made in memory: the cards' states as decisions change them, and
    /// what the batch will write.
    struct Plan {
        var states: [CardID: CardState]
        var writes: [DecisionWrite] = []
        /// Requests that repeat a reference decided before this batch, by index.
        var replays: [Int: AuthorizationID] = [:]
        /// The first decision of each reference made in this batch.
        var firstByReference: [String: Authorization] = [:]

        init(states: [CardID: CardState]) {
            self.states = states
        }

        /// A request with a reference decided before: the first decision when it asks for the same
        /// card, amount and currency; 422 `network_reference_reused` when it does not.
        static func replay(of first: Authorization, by request: AuthorizationRequest) -> BatchOutcome<DecisionAnswer> {
            guard first.card == request.card, first.amountMinor == request.amount.minor, first.currency == request.amount.currency else {
                return .failure(DomainError(
                    .unprocessable, code: "network_reference_reused",
                    message: "network_reference '\(request.networkReference)' was used by authorization \(first.id) for another card, amount or currency.",
                    param: "network_reference"))
            }
            return .answer(.decided(.existing(first)))
        }

        /// Decides one request: a replay, a card that does not exist, the customer to ask, or a new
        /// decision whose hold is taken from the card's state at once.
        mutating func add(_ item: DecisionItem, index: Int, decided: [String: AuthorizationID], tenant: TenantID, vault: CardVault,
                          in tx: BatchTransaction) async throws -> BatchOutcome<DecisionAnswer>? {
            let request = item.request
            if let first = firstByReference[request.networkReference] { return Self.replay(of: first, by: request) }
            if let earlier = decided[request.networkReference] {
                replays[index] = earlier
                return nil
            }
            guard var state = states[request.card] else { throw DomainError.resourceMissing("card", id: request.card.rawValue, param: "card") }
            let (program, sealedSecret) = try await tx.program(tenant, state.version.program)
            let keys = WindowKeys(at: tx.now, utcOffsetSeconds: TimeZones.utcOffsetSeconds(state.timeZone, at: tx.now))
            let usage = state.counters.usage(at: keys)
            var input = PolicyInput(
                card: state.version.policySnapshot, amount: request.amount, transactionTotalMinor: request.amount.minor,
                merchant: request.merchant, channel: request.channel, deviceLocation: request.deviceLocation, now: tx.now, spend: usage,
                availableMinor: state.availableMinor, reviewRules: program.reviewRules, reviewOutcome: program.reviewOutcome,
                webhookConfigured: program.authorizationWebhook != nil, customer: item.customer)
            var decision = AuthorizationPolicy.evaluate(input)
            // A network's stand-in advice records what the network decided: nobody is asked.
            if decision.needsCustomerDecision, request.network?.standInResponseCode == nil, let webhook = program.authorizationWebhook {
                if let sealedSecret {
                    let secret = try vault.open(secret: sealedSecret, tenant: tenant, purpose: CardProgramService.webhookSecretPurpose)
                    return .answer(.askCustomer(CustomerDecisionRequest(
                        url: webhook.url, timeoutMs: webhook.timeoutMs, fallback: webhook.fallback, secret: secret,
                        messageID: "msg_" + tx.newID(EventKind.self).rawValue.dropFirst(EventKind.prefix.count),
                        body: AuthorizationService.decisionRequestBody(request, card: state.version, decision: decision))))
                }
                // A program created before signing secrets existed cannot sign: its fallback decides.
                input.customer = CustomerDecision(decision: webhook.fallback, source: .fallback, latencyMs: 0, failure: "no_signing_secret")
                decision = AuthorizationPolicy.evaluate(input)
            }

            let id: AuthorizationID = tx.newID()
            let outcome = DecisionRecord.Outcome(decision, amount: request.amount, availableBeforeMinor: input.availableMinor,
                                                 reviewOutcome: program.reviewOutcome, network: request.network)
            var hold: (id: JournalEntryID, draft: JournalEntryDraft)?
            if outcome.holds {
                let held = Money(minor: outcome.heldMinor, currency: request.amount.currency)
                let draft = try LedgerRecipes.hold(amount: held, cardAvailable: state.availableAccount,
                                               cardReserved: state.reservedAccount, authorization: id.rawValue)
                try state.apply(draft)
                state.counters = try state.counters.adding(held.minor, at: keys)
                hold = (tx.newID(), draft)
            }
            let record = DecisionRecord(
                id: id, card: state.version, program: program, amount: request.amount, merchant: request.merchant, channel: request.channel,
                deviceLocation: request.deviceLocation, networkReference: request.networkReference, receivedAt: request.receivedAt,
                decidedAt: tx.now, timeZone: state.timeZone, windows: keys, spendBefore: usage, availableBeforeMinor: input.availableMinor,
                customerDecision: input.customer, outcomes: RuleOutcomes(decision.rules), holdJournalEntry: hold?.id,
                expiresAt: hold.map { _ in tx.now.adding(seconds: Int64(program.holdLifetimeHours) * 3600) }, network: request.network)
            if hold != nil { states[request.card] = state }
            let write = DecisionWrite(
                record: record, decision: decision, hold: hold, scope: item.scope,
                // The event's body is the decision's answer, rendered from the record when read.
                events: [BatchTransaction.Event(.authorization(outcome.status), objectType: .authorization,
                                                objectID: id.rawValue, objectVersion: 0)],
                audits: [AuthorizationBatch.audit(record, decision, hold: hold?.id)])
            writes.append(write)
            // Rendered as JSON by whoever answers, off the writer's thread (the ISO 8583 link never does).
            let answer = record.answer(decision)
            firstByReference[request.networkReference] = answer
            return .answer(.decided(.created(answer)))
        }
    }
}
