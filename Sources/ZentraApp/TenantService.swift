import ZentraCore
import ZentraStorage

public struct TenantSettings: Sendable, Decodable {
    public var timeZone: String?
}

/// Tenant settings. The time zone names the day, week and month every spend window of the tenant's
/// cards counts in; a change applies to windows that start after it.
public enum TenantService {
    public static func update(_ input: TenantSettings, in tx: WriteTransaction) async throws -> Tenant {
        guard let raw = input.timeZone else { return try await tx.tenantSettings.record() }
        return try await tx.tenantSettings.setTimeZone(try validTimeZone(raw))
    }

    public static func validTimeZone(_ raw: String, param: String = "time_zone") throws -> String {
        guard raw.count <= 64, let zone = TimeZones.zone(raw) else {
            throw DomainError.parameterInvalid(param, "'\(raw)' is not an IANA time zone (such as UTC or Europe/Berlin)")
        }
        return zone.identifier
    }
}
