/// Where a card may be used: `in_store` (chip or swipe), `contactless`, `atm`, `online`, `moto`
/// (mail or telephone order).
public enum Channel: String, Sendable, Codable, Hashable, CaseIterable {
    case online
    case inStore = "in_store"
    case contactless
    case atm
    case moto

    /// Channels where the card and the merchant are in one place (geofencing applies to these).
    public var isPhysical: Bool { self == .inStore || self == .contactless || self == .atm }
}

/// Named groups of merchant category codes, usable wherever a 4-digit MCC is.
public enum MerchantCategoryGroups {
    public static let groups: [String: [String]] = [
        "gambling": ["7800", "7801", "7802", "7995"],
        "cash": ["6010", "6011"],
        "quasi_cash": ["6050", "6051", "6540"],
        "money_transfer": ["4829", "6536", "6537", "6538"],
        "adult": ["5967", "7273"],
        "pawn_shops": ["5933"],
        "airlines": ["4511"],
        "lodging": ["7011"],
        "travel_agencies": ["4722"],
        "car_rental": ["7512"],
        "fuel": ["5541", "5542"],
        "grocery": ["5411"],
        "restaurants": ["5812", "5813", "5814"],
    ]

    /// The codes a list of MCCs and group names stands for.
    public static func expand(_ entries: [String]) -> Set<String> {
        Set(entries.flatMap { groups[$0] ?? [$0] })
    }
}

/// Spend controls of a card or a card program's defaults. Limits are in the card's currency's minor
/// units; any may be absent. Lists hold 4-digit MCCs or group names, channel names, ISO 3166 codes.
public struct SpendControls: Sendable, Hashable, Codable {
    public var perTransactionMinor: Int64?
    public var dailyMinor: Int64?
    public var weeklyMinor: Int64?
    public var monthlyMinor: Int64?
    public var lifetimeMinor: Int64?
    public var allowedMccs: [String]?
    public var blockedMccs: [String]?
    public var allowedChannels: [String]?
    public var blockedChannels: [String]?
    public var allowedCountries: [String]?

    public init(
        perTransactionMinor: Int64? = nil, dailyMinor: Int64? = nil, weeklyMinor: Int64? = nil, monthlyMinor: Int64? = nil,
        lifetimeMinor: Int64? = nil, allowedMccs: [String]? = nil, blockedMccs: [String]? = nil,
        allowedChannels: [String]? = nil, blockedChannels: [String]? = nil, allowedCountries: [String]? = nil
    ) {
        self.perTransactionMinor = perTransactionMinor
        self.dailyMinor = dailyMinor
        self.weeklyMinor = weeklyMinor
        self.monthlyMinor = monthlyMinor
        self.lifetimeMinor = lifetimeMinor
        self.allowedMccs = allowedMccs
        self.blockedMccs = blockedMccs
        self.allowedChannels = allowedChannels
        self.blockedChannels = blockedChannels
        self.allowedCountries = allowedCountries
    }

    /// These controls with every absent field taken from `defaults` (a card over its program).
    public func overriding(_ defaults: SpendControls) -> SpendControls {
        SpendControls(
            perTransactionMinor: perTransactionMinor ?? defaults.perTransactionMinor, dailyMinor: dailyMinor ?? defaults.dailyMinor,
            weeklyMinor: weeklyMinor ?? defaults.weeklyMinor, monthlyMinor: monthlyMinor ?? defaults.monthlyMinor,
            lifetimeMinor: lifetimeMinor ?? defaults.lifetimeMinor, allowedMccs: allowedMccs ?? defaults.allowedMccs,
            blockedMccs: blockedMccs ?? defaults.blockedMccs, allowedChannels: allowedChannels ?? defaults.allowedChannels,
            blockedChannels: blockedChannels ?? defaults.blockedChannels, allowedCountries: allowedCountries ?? defaults.allowedCountries)
    }

    /// Most entries in one list: a limit like every other (TigerBeetle style).
    public static let listEntries_max = 200

    /// Checks every field strictly and answers a normalized copy (upper-case countries, lower-case
    /// group names, duplicates removed, order kept). `param` prefixes the names in errors.
    public func validated(param: String) throws(DomainError) -> SpendControls {
        var result = self
        let limits: [(String, Int64?)] = [
            ("per_transaction_minor", perTransactionMinor), ("daily_minor", dailyMinor), ("weekly_minor", weeklyMinor),
            ("monthly_minor", monthlyMinor), ("lifetime_minor", lifetimeMinor),
        ]
        for (name, value) in limits {
            if let value { try MinorUnits.requirePositive(value, param: "\(param).\(name)") }
        }
        result.allowedMccs = try Self.merchantCategories(allowedMccs, "\(param).allowed_mccs")
        result.blockedMccs = try Self.merchantCategories(blockedMccs, "\(param).blocked_mccs")
        result.allowedChannels = try Self.channels(allowedChannels, "\(param).allowed_channels")
        result.blockedChannels = try Self.channels(blockedChannels, "\(param).blocked_channels")
        result.allowedCountries = try Self.countries(allowedCountries, "\(param).allowed_countries")
        return result
    }

    public static func merchantCategories(_ entries: [String]?, _ param: String) throws(DomainError) -> [String]? {
        try list(entries, param) { entry throws(DomainError) in
            let value = entry.lowercased()
            let isCode = value.count == 4 && value.allSatisfy(\.isASCII) && value.allSatisfy(\.isNumber)
            guard isCode || MerchantCategoryGroups.groups[value] != nil else {
                throw DomainError.parameterInvalid(param, "'\(entry)' is neither a 4-digit MCC nor a group (\(MerchantCategoryGroups.groups.keys.sorted().joined(separator: ", ")))")
            }
            return value
        }
    }

    public static func channels(_ entries: [String]?, _ param: String) throws(DomainError) -> [String]? {
        try list(entries, param) { entry throws(DomainError) in
            guard let channel = Channel(rawValue: entry) else {
                throw DomainError.parameterInvalid(param, "'\(entry)' is not a channel (\(Channel.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            return channel.rawValue
        }
    }

    public static func countries(_ entries: [String]?, _ param: String) throws(DomainError) -> [String]? {
        try list(entries, param) { entry throws(DomainError) in
            let code = entry.uppercased()
            guard Countries.alpha2.contains(code) else {
                throw DomainError.parameterInvalid(param, "'\(entry)' is not an ISO 3166-1 alpha-2 country code")
            }
            return code
        }
    }

    private static func list(
        _ entries: [String]?, _ param: String, _ normalize: (String) throws(DomainError) -> String
    ) throws(DomainError) -> [String]? {
        guard let entries else { return nil }
        guard entries.count <= listEntries_max else {
            throw DomainError.parameterInvalid(param, "at most \(listEntries_max) entries")
        }
        var seen: Set<String> = []
        var result: [String] = []
        for entry in entries {
            let value = try normalize(entry)
            if seen.insert(value).inserted { result.append(value) }
        }
        return result
    }
}
