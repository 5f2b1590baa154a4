/// Which URLs Zentra may call (webhooks, authorization webhooks). Every IANA special-purpose
/// address (loopback, private, link-local, documentation, benchmarking, NAT64, 6to4, ...) is refused
/// unless an allowed network covers it (`ZENTRA_WEBHOOK_ALLOWED_NETWORKS`, CIDRs such as
/// `127.0.0.0/8` or `fd00::/8`). Host names are checked here by form; the addresses they resolve to
/// are checked when a call is made, and the call goes to the address that was checked.
public struct OutboundURLPolicy: Sendable, Hashable {
    public let allowedNetworks: [IPNetwork]

    public init(allowedNetworks: [IPNetwork] = []) {
        self.allowedNetworks = allowedNetworks
    }

    /// Parses a comma-separated CIDR list, IPv4 and IPv6; throws naming the bad entry.
    public init(allowedNetworksList: String) throws(DomainError) {
        self.init(allowedNetworks: try IPNetwork.list(allowedNetworksList, setting: "ZENTRA_WEBHOOK_ALLOWED_NETWORKS"))
    }

    /// Validates a URL a client gives for Zentra to call, and answers it with a numeric IPv4 host in
    /// its canonical form: `http://2130706433/` and `http://0x7f.1/` are `http://127.0.0.1/` to
    /// every resolver, so they are judged, and stored, as that.
    public func validate(_ raw: String, param: String) throws(DomainError) -> String {
        guard raw.count <= 2048, var components = URLComponents(string: raw), let scheme = components.scheme?.lowercased(),
            scheme == "https" || scheme == "http", let written = components.host?.lowercased(), !written.isEmpty,
            components.user == nil, components.password == nil
        else { throw DomainError.parameterInvalid(param, "must be an http or https URL without credentials") }
        let host = written.hasSuffix(".") ? String(written.dropLast()) : written
        let refused = "is a special-purpose address (loopback, private, link-local, reserved; ZENTRA_WEBHOOK_ALLOWED_NETWORKS may allow it)"
        if host == "localhost" || host.hasSuffix(".localhost") {
            guard permits(address: "127.0.0.1") else { throw DomainError.parameterInvalid(param, "\(host) \(refused)") }
        } else if host.contains(":") {
            guard permits(address: host) else { throw DomainError.parameterInvalid(param, "\(host) \(refused)") }
        } else if IPAddress.endsInNumber(host) {
            guard let value = IPAddress.numericIPv4(host) else {
                throw DomainError.parameterInvalid(param, "\(host) is not a valid IPv4 address")
            }
            let canonical = IPAddress(ipv4: value).description
            guard permits(address: canonical) else { throw DomainError.parameterInvalid(param, "\(host) (\(canonical)) \(refused)") }
            if canonical != written {
                components.host = canonical
                guard let rewritten = components.string else { throw DomainError.parameterInvalid(param, "must be an http or https URL") }
                return rewritten
            }
        }
        return raw
    }

    /// Whether Zentra may connect to this address: an IPv4 dotted quad or an IPv6 literal (with or
    /// without brackets), as written in a URL or as a host name resolved to at call time. Internal
    /// addresses are refused unless an allowed network covers them (`::1` counts as 127.0.0.1 too);
    /// anything that is not an address is refused.
    public func permits(address text: String) -> Bool {
        IPAddress(text).map(permits) ?? false
    }

    /// Whether Zentra may connect to this address, already parsed.
    public func permits(_ address: IPAddress) -> Bool {
        if !address.isSpecialPurpose { return true }
        let alsoLoopback = address == IPAddress(high: 0, low: 1)
        return allowedNetworks.contains { $0.contains(address) || (alsoLoopback && $0.contains(IPAddress(ipv4: 0x7F00_0001))) }
    }
}

/// An IPv4 or IPv6 address, kept as 128 bits: an IPv4 address as its IPv4-mapped IPv6 form
/// (`::ffff:a.b.c.d`), so that one network type covers both.
public struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    public let high: UInt64
    public let low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    public init(ipv4 value: UInt32) {
        self.init(high: 0, low: 0x0000_FFFF_0000_0000 | UInt64(value))
    }

    /// A dotted quad, or an IPv6 address (`::` shortening, a dotted IPv4 tail, brackets and a zone
    /// allowed).
    public init?(_ text: String) {
        var bare = Substring(text)
        if bare.hasPrefix("["), bare.hasSuffix("]") { bare = bare.dropFirst().dropLast() }
        if let zone = bare.firstIndex(of: "%") { bare = bare[..<zone] }
        if let value = Self.ipv4(bare) {
            self.init(ipv4: value)
            return
        }
        guard let groups = Self.ipv6Groups(bare) else { return nil }
        var high: UInt64 = 0, low: UInt64 = 0
        for (index, group) in groups.enumerated() {
            if index < 4 { high = high << 16 | UInt64(group) } else { low = low << 16 | UInt64(group) }
        }
        self.init(high: high, low: low)
    }

    static func ipv4(_ text: Substring) -> UInt32? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy({ $0.isASCII && $0.isNumber }), let octet = UInt8(part) else { return nil }
            value = value << 8 | UInt32(octet)
        }
        return value
    }

    /// The eight 16-bit groups of an IPv6 address, or nil.
    static func ipv6Groups(_ text: Substring) -> [UInt16]? {
        guard text.contains(":"), text.count <= 45 else { return nil }
        func groups(_ part: Substring, allowIPv4Tail: Bool) -> [UInt16]? {
            if part.isEmpty { return [] }
            var fields = part.split(separator: ":", omittingEmptySubsequences: false)
            var tail: [UInt16] = []
            if allowIPv4Tail, let last = fields.last, last.contains(".") {
                guard let value = ipv4(last) else { return nil }
                tail = [UInt16(value >> 16), UInt16(value & 0xFFFF)]
                fields.removeLast()
            }
            var out: [UInt16] = []
            for field in fields {
                guard (1...4).contains(field.count), let value = UInt16(field, radix: 16) else { return nil }
                out.append(value)
            }
            return out + tail
        }
        let halves = text.components(separatedBy: "::")
        switch halves.count {
        case 1:
            guard let all = groups(text, allowIPv4Tail: true), all.count == 8 else { return nil }
            return all
        case 2:
            guard let left = groups(Substring(halves[0]), allowIPv4Tail: false), let right = groups(Substring(halves[1]), allowIPv4Tail: true),
                  left.count + right.count <= 7
            else { return nil }
            return left + Array(repeating: 0, count: 8 - left.count - right.count) + right
        default:
            return nil
        }
    }

    /// The IPv4 address this one stands for, when it is IPv4-mapped.
    public var ipv4: UInt32? {
        high == 0 && low >> 32 == 0xFFFF ? UInt32(truncatingIfNeeded: low) : nil
    }

    public var description: String {
        if let v4 = ipv4 { return "\(v4 >> 24).\(v4 >> 16 & 255).\(v4 >> 8 & 255).\(v4 & 255)" }
        var groups: [String] = []
        for half in [high, low] {
            for shift in stride(from: 48, through: 0, by: -16) { groups.append(String(half >> UInt64(shift) & 0xFFFF, radix: 16)) }
        }
        return groups.joined(separator: ":")
    }

    /// In the IANA IPv4 or IPv6 special-purpose address registries, or multicast, or reserved: every
    /// address a customer's public endpoint cannot have. IPv6 forms that embed an IPv4 address
    /// (IPv4-compatible `::a.b.c.d`, NAT64, 6to4, Teredo) are refused whole, whatever they embed.
    public var isSpecialPurpose: Bool {
        Self.specialPurposeNetworks.contains { $0.contains(self) }
    }

    static let specialPurposeNetworks: [IPNetwork] = [
        // IPv4 (RFC 6890 and its successors), multicast and the reserved 240/4 with broadcast.
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24",
        "192.31.196.0/24", "192.52.193.0/24", "192.88.99.0/24", "192.168.0.0/16", "192.175.48.0/24", "198.18.0.0/15", "198.51.100.0/24",
        "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
        // IPv6: unspecified, loopback and IPv4-compatible (::/96), NAT64, discard, IETF protocol
        // assignments (Teredo, ORCHID), documentation, 6to4, SRv6, unique local, site-local, link-local, multicast.
        "::/96", "::1/128", "64:ff9b::/96", "64:ff9b:1::/48", "100::/64", "2001::/23", "2001:db8::/32", "2002::/16", "3fff::/20",
        "5f00::/16", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
    ].map { IPNetwork($0)! }

    /// Whether a host's last label is a number (decimal, or hex after `0x`): such a host is an IPv4
    /// address to every resolver (the URL standard's "ends in a number"), never a name.
    public static func endsInNumber(_ host: String) -> Bool {
        guard let last = host.split(separator: ".", omittingEmptySubsequences: false).last, !last.isEmpty else { return false }
        if last.allSatisfy({ $0.isASCII && $0.isNumber }) { return true }
        let lower = last.lowercased()
        return lower.hasPrefix("0x") && lower.dropFirst(2).allSatisfy(\.isHexDigit)
    }

    /// An IPv4 address in any form `inet_aton` accepts: one to four parts, each decimal, octal
    /// (leading `0`) or hex (`0x`), the last filling the remaining bytes (`127.1`, `2130706433`,
    /// `0177.0.0.1`). Nil when a part is malformed or out of range.
    public static func numericIPv4(_ host: String) -> UInt32? {
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...4).contains(parts.count) else { return nil }
        var values: [UInt64] = []
        for part in parts {
            let lower = part.lowercased()
            let value: UInt64?
            if lower.hasPrefix("0x") {
                let digits = lower.dropFirst(2)
                value = digits.isEmpty ? 0 : digits.count > 16 ? nil : UInt64(digits, radix: 16)
            } else if lower.count > 1, lower.hasPrefix("0") {
                value = lower.count > 23 ? nil : UInt64(lower.dropFirst(), radix: 8)
            } else {
                value = lower.isEmpty || lower.count > 20 ? nil : UInt64(lower, radix: 10)
            }
            guard let value else { return nil }
            values.append(value)
        }
        let last = values.removeLast()
        guard values.allSatisfy({ $0 <= 255 }), last < UInt64(1) << (8 * (4 - values.count)) else { return nil }
        var address: UInt64 = last
        for (index, value) in values.enumerated() { address |= value << (8 * (3 - index)) }
        return UInt32(address)
    }
}

/// A network in CIDR form, IPv4 (`10.0.0.0/8`) or IPv6 (`fd00::/8`).
public struct IPNetwork: Sendable, Hashable {
    public let base: IPAddress
    /// Over all 128 bits (an IPv4 network's length plus 96).
    public let prefixLength: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let address = IPAddress(String(parts[0])), parts[1].allSatisfy({ $0.isASCII && $0.isNumber }),
              parts[1].count <= 3, let length = Int(parts[1])
        else { return nil }
        let isIPv4 = IPAddress.ipv4(parts[0]) != nil
        guard (0...(isIPv4 ? 32 : 128)).contains(length) else { return nil }
        base = address
        prefixLength = isIPv4 ? length + 96 : length
    }

    public func contains(_ address: IPAddress) -> Bool {
        func mask(_ bits: Int) -> UInt64 { bits <= 0 ? 0 : bits >= 64 ? ~0 : ~0 << UInt64(64 - bits) }
        let highMask = mask(prefixLength), lowMask = mask(prefixLength - 64)
        return address.high & highMask == base.high & highMask && address.low & lowMask == base.low & lowMask
    }

    /// A comma-separated list of networks (an allow list from the environment); throws naming the
    /// bad entry and the setting.
    public static func list(_ text: String, setting: String) throws(DomainError) -> [IPNetwork] {
        var networks: [IPNetwork] = []
        for entry in text.split(separator: ",") {
            let item = entry.trimmingCharacters(in: .whitespaces)
            guard !item.isEmpty else { continue }
            guard let network = IPNetwork(item) else {
                throw DomainError.invalidRequest("\(setting): '\(item)' is not an IP network in CIDR form (10.0.0.0/8, fd00::/8)")
            }
            networks.append(network)
        }
        return networks
    }
}

import Foundation
