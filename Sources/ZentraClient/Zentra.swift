import AsyncHTTPClient
import Foundation

/// The Zentra API client: one namespace per resource.
///
/// ```swift
/// let zentra = Zentra(apiKey: key, baseURL: URL(string: "http://127.0.0.1:8080")!)
/// let card = try await zentra.cards.issue(customer: customer.id, account: account.id, spendLimitMinor: 250_000)
/// ```
public struct Zentra: Sendable {
    /// How the client talks to the server; every setting has a default.
    public struct Configuration: Sendable {
        /// The longest one attempt may take (AsyncHTTPClient's deadline for the request).
        public var timeout: Duration
        public var retry: RetryPolicy
        /// The largest answer body read; a longer one fails the call.
        public var maxResponseBytes: Int
        /// The HTTP client the calls go through; `HTTPClient.shared` unless one is given.
        public var httpClient: HTTPClient

        public init(timeout: Duration = .seconds(30), retry: RetryPolicy = RetryPolicy(),
                    maxResponseBytes: Int = 32 << 20, httpClient: HTTPClient = .shared) {
            self.timeout = timeout
            self.retry = retry
            self.maxResponseBytes = maxResponseBytes
            self.httpClient = httpClient
        }
    }

    public let customers: Customers
    public let accounts: Accounts
    public let cardPrograms: CardPrograms
    public let cards: Cards
    public let authorizations: Authorizations
    public let clearings: Clearings
    public let reconciliationCases: ReconciliationCases
    public let settlements: Settlements
    public let transactions: Transactions
    public let disputes: Disputes
    public let ledger: Ledger
    public let events: Events
    public let webhookEndpoints: WebhookEndpoints
    public let runtime: Runtime
    public let auditLog: AuditLog
    public let apiKeys: APIKeys
    public let evidence: EvidenceKeys
    public let tenant: Tenants

    public init(apiKey: String, baseURL: URL, configuration: Configuration = Configuration()) {
        let transport = Transport(apiKey: apiKey, baseURL: baseURL, configuration: configuration)
        customers = Customers(transport: transport)
        accounts = Accounts(transport: transport)
        cardPrograms = CardPrograms(transport: transport)
        cards = Cards(transport: transport)
        authorizations = Authorizations(transport: transport)
        clearings = Clearings(transport: transport)
        reconciliationCases = ReconciliationCases(transport: transport)
        settlements = Settlements(transport: transport)
        transactions = Transactions(transport: transport)
        disputes = Disputes(transport: transport)
        ledger = Ledger(transport: transport)
        events = Events(transport: transport)
        webhookEndpoints = WebhookEndpoints(transport: transport)
        runtime = Runtime(transport: transport)
        auditLog = AuditLog(transport: transport)
        apiKeys = APIKeys(transport: transport)
        evidence = EvidenceKeys(transport: transport)
        tenant = Tenants(transport: transport)
    }
}
