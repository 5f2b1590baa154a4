/// What an event or an audit record is about: the `object` name of the thing that changed, as
/// stored in their `object_type` columns. One catalog, so no caller spells one its own way; the
/// `object` field of the API resources it names is spelled from it too.
public enum ObjectType: String, Sendable, Hashable, CaseIterable {
    case account
    case apiKey = "api_key"
    case auditRecord = "audit_record"
    case authorization
    case card
    case cardFunding = "card_funding"
    case cardProgram = "card_program"
    case clearing
    case clearingFile = "clearing_file"
    case customer
    case deposit
    case dispute
    case event
    case journalEntry = "journal_entry"
    case ledgerAccount = "ledger_account"
    case ledgerEntry = "ledger_entry"
    case reconciliationCase = "reconciliation_case"
    case runtimeIntent = "runtime_intent"
    case settlement
    case tenant
    case transaction
    case webhookDelivery = "webhook_delivery"
    case webhookEndpoint = "webhook_endpoint"
}
