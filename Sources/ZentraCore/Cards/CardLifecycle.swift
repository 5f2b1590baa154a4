/// The card state machine: `active` ⇄ `locked`, and `closed` from either, final.
public enum CardLifecycle {
    public enum Action: String, Sendable {
        case lock
        case unlock
        case close
        /// Changing security settings: allowed in any state but closed.
        case updateSecurity = "update_security"
    }

    /// The status after `action`, or `nil` when the card is already there (a repeat changes nothing).
    public static func next(from status: CardStatus, _ action: Action) throws(DomainError) -> CardStatus? {
        guard status != .closed else {
            throw DomainError(.conflict, code: "card_closed", message: "The card is closed; closure is final.")
        }
        switch (status, action) {
        case (.active, .lock): return .locked
        case (.locked, .unlock): return .active
        case (_, .close): return .closed
        case (_, .updateSecurity): return status
        case (.locked, .lock), (.active, .unlock): return nil
        case (.closed, _): return nil
        }
    }
}
