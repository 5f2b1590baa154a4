import ZentraCore

/// What this process last read or wrote of the rows a batch of decisions reads: each card's state,
/// and the network references it decided. A batch on PostgreSQL whose cards are all remembered
/// decides from memory and writes at once: one round trip instead of two. Memory is never trusted:
/// the write statement commits only if every card it decided on still holds the remembered state,
/// every network reference is still undecided and every API key unrevoked (`BatchTransaction.write`);
/// otherwise the batch runs again in a transaction that reads, and forgets what it read over.
/// Bounded (`BoundedCache`): a card state is about 250 bytes, so a full memory is about 25 MiB.
final class DecisionMemory: Sendable {
    private let cards: BoundedCache<String, CardState>
    private let references: BoundedCache<String, AuthorizationID>

    init(cards_max: Int = 100_000, references_max: Int = 100_000) {
        cards = BoundedCache(capacity: cards_max)
        references = BoundedCache(capacity: references_max)
    }

    /// Every card's remembered state, or nil when one of them is not remembered.
    func states(_ tenant: TenantID, _ ids: Set<CardID>) -> [CardID: CardState]? {
        var states: [CardID: CardState] = [:]
        for id in ids {
            guard let state = cards[Self.key(tenant, id.rawValue)] else { return nil }
            states[id] = state
        }
        return states
    }

    /// The decisions this process knows for `references`; the others may be undecided.
    func decided(_ tenant: TenantID, _ references: Set<String>) -> [String: AuthorizationID] {
        var decided: [String: AuthorizationID] = [:]
        for reference in references {
            if let id = self.references[Self.key(tenant, reference)] { decided[reference] = id }
        }
        return decided
    }

    /// Keeps states and references as committed.
    func keep(_ tenant: TenantID, states: some Sequence<CardState>, decided: some Sequence<(String, AuthorizationID)>) {
        for state in states { cards.keep(state, for: Self.key(tenant, state.version.card.rawValue)) }
        for (reference, id) in decided { references.keep(id, for: Self.key(tenant, reference)) }
    }

    func forget(_ tenant: TenantID, _ ids: Set<CardID>) {
        for id in ids { cards.forget(Self.key(tenant, id.rawValue)) }
    }

    private static func key(_ tenant: TenantID, _ id: String) -> String { tenant.rawValue + "/" + id }
}
