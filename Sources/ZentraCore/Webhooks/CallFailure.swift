/// Why a call to a customer's URL (a webhook delivery, a decisioning request) gave no answer to
/// use: the words recorded as an attempt's `error` and a customer decision's `failure`. A call
/// answered with a status it should not have is recorded as `http_<status>` (`status(_:)`).
public enum CallFailure: String, Sendable, Error, CaseIterable {
    /// Not called: the URL names no host.
    case invalidURL = "invalid_url"
    /// Not called: the host's name did not resolve.
    case dnsFailed = "dns_failed"
    /// Not called: an address the host resolves to is outside the outbound URL policy.
    case destinationRefused = "destination_refused"
    /// Not called: the signing secret is not a Standard Webhooks secret.
    case invalidSigningSecret = "invalid_signing_secret"
    case timeout
    case connectionFailed = "connection_failed"
    /// Decisioning: a 2xx answer that names no decision.
    case invalidResponse = "invalid_response"
    /// Delivery: the process sending it stopped before it could record the answer.
    case interrupted

    /// An answer with `code`, recorded as a failure (`http_500`).
    public static func status(_ code: Int) -> String { "http_\(code)" }
}
