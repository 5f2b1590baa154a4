/// Which URLs Zentra may call (webhooks, authorization webhooks). Loopback, private and link-local
/// addresses are refused unless an allowed network covers them (`ZENTRA_WEBHOOK_ALLOWED_NETWORKS`,
/// IPv4 CIDRs such as `127.0.0.0/8`). Host names are checked here by form; their resolved addresses
/// are checked again when a call is made.
public struct OutboundURLPolicy: Sendable, Hashable {
    public let allowedNetworks: [IPv4Network]

    public init(allowedNetworks: [IPv4Network] = []) {
        self.allowedNetworks = allowedNetworks
    }

    /// Parses a comma-separated CIDR list; throws naming the bad entry.
    public init(allowedNetworksList: String) throws(DomainError) {
        var networks: [IPv4Network] = []
        for entry in allowedNetworksList.split(separator: ",") {
            let text = entry.trimmingCharacters(in: .whitespaces)
            guard let network = IPv4Network(text) else {
                throw DomainError.invalidRequest("ZENTRA_WEBHOOK_ALLOWED_NETWORKS: '\(text)' is not an IPv4 CIDR")
            }
            networks.append(network)
        }
        self.init(allowedNetworks: networks)
    }

    /// Validates a URL a client gives for Zentra to call.
    public func validate(_ raw: String, param: String) throws(DomainError) -> String {
        guard raw.count <= 2048, let components = URLComponents(string: raw), let scheme = components.scheme?.lowercased(),
            scheme == "https" || scheme == "http", let host = components.host?.lowercased(), !host.isEmpty,
            components.user == nil, components.password == nil
        else { throw DomainError.parameterInvalid(param, "must be an http or https URL without credentials") }
        if host == "localhost" || host.hasSuffix(".localhost") {
            guard permits(address: "127.0.0.1") else {
                throw DomainError.parameterInvalid(param, "\(host) is a loopback address (ZENTRA_WEBHOOK_ALLOWED_NETWORKS may allow it)")
            }
        } else if IPv4Address(host) != nil || host.contains(":") {
            guard permits(address: host) else {
                throw DomainError.parameterInvalid(
                    param, "\(host) is a loopback, private or link-local address (ZENTRA_WEBHOOK_ALLOWED_NETWORKS may allow it)")
            }
        }
        return raw
    }

    /// Whether Zentra may connect to this address: an IPv4 dotted quad or an IPv6 literal (with or
    /// without brackets), as written in a URL or as a host name resolved to at call time. Internal
    /// IPv6 addresses are refused unless they stand for an allowed IPv4 one (`::1` for 127.0.0.1,
    /// `::ffff:a.b.c.d` for a.b.c.d); anything that is not an address is refused.
    public func permits(address text: String) -> Bool {
        let bare = text.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).lowercased()
        if let address = IPv4Address(bare) {
            return !address.isInternal || allowedNetworks.contains { $0.contains(address) }
        }
        guard bare.contains(":"), bare.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." || $0 == "%" }) else { return false }
        if bare == "::1" { return permits(address: "127.0.0.1") }
        if bare.hasPrefix("::ffff:"), let mapped = IPv4Address(String(bare.dropFirst(7))) {
            return permits(address: "\(mapped.value >> 24).\(mapped.value >> 16 & 255).\(mapped.value >> 8 & 255).\(mapped.value & 255)")
        }
        let internalPrefixes = ["fc", "fd", "fe8", "fe9", "fea", "feb", "ff", "::ffff:"]
        return bare != "::" && !internalPrefixes.contains { bare.hasPrefix($0) }
    }
}

public struct IPv4Address: Sendable, Hashable {
    public let value: UInt32

    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        value = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    public init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy({ $0.isASCII && $0.isNumber }), let octet = UInt8(part) else { return nil }
            value = value << 8 | UInt32(octet)
        }
        self.value = value
    }

    /// Loopback, private (RFC 1918), carrier-grade NAT, link-local, "this network", multicast, reserved.
    public var isInternal: Bool {
        let internalNetworks: [IPv4Network] = [
            .init(IPv4Address(127, 0, 0, 0), 8), .init(IPv4Address(10, 0, 0, 0), 8), .init(IPv4Address(172, 16, 0, 0), 12),
            .init(IPv4Address(192, 168, 0, 0), 16), .init(IPv4Address(169, 254, 0, 0), 16), .init(IPv4Address(100, 64, 0, 0), 10),
            .init(IPv4Address(0, 0, 0, 0), 8), .init(IPv4Address(224, 0, 0, 0), 3),
        ]
        return internalNetworks.contains { $0.contains(self) }
    }
}

public struct IPv4Network: Sendable, Hashable {
    public let base: IPv4Address
    public let prefixLength: Int

    public init(_ base: IPv4Address, _ prefixLength: Int) {
        self.base = base
        self.prefixLength = prefixLength
    }

    public init?(_ text: String) {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let address = IPv4Address(String(parts[0])), let length = Int(parts[1]), (0...32).contains(length)
        else { return nil }
        self.init(address, length)
    }

    public func contains(_ address: IPv4Address) -> Bool {
        let mask: UInt32 = prefixLength == 0 ? 0 : ~UInt32(0) << UInt32(32 - prefixLength)
        return address.value & mask == base.value & mask
    }
}

import Foundation
