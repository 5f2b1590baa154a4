/// What an event or an audit record is about: the `object` name of the thing that changed, as
/// stored in their `object_type` columns. One catalog, so no caller spells one its own way.
public enum ObjectType: String, Sendable, Hashable, CaseIterable {
    case account
    case apiKey = "api_key"
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
    case reconciliationCase = "reconciliation_case"
    case runtimeIntent = "runtime_intent"
    case settlement
    case tenant
    case webhookEndpoint = "webhook_endpoint"
}
