import Testing
@testable import ZentraCore

@Suite struct CardPolicyTests {
    @Test func countryTableHasEveryAssignedCode() {
        #expect(Countries.alpha2.count == 249)
        #expect(Countries.alpha2.contains("US") && Countries.alpha2.contains("KP") && !Countries.alpha2.contains("XX"))
    }

    @Test func merchantGroupsExpandToCodes() {
        #expect(MerchantCategoryGroups.expand(["gambling", "5411"]) == ["7800", "7801", "7802", "7995", "5411"])
    }

    @Test func networksContainTheirAddresses() throws {
        let network = try #require(IPNetwork("172.16.0.0/12"))
        #expect(network.contains(try #require(IPAddress("172.31.255.255"))))
        #expect(!network.contains(try #require(IPAddress("172.32.0.1"))))
        #expect(network.contains(try #require(IPAddress("::ffff:172.20.1.1"))), "an IPv4-mapped address is its IPv4 address")
        #expect(IPAddress("256.1.1.1") == nil && IPAddress("1.2.3") == nil && IPAddress("1::2::3") == nil && IPAddress("12345::") == nil)
        #expect(try #require(IPAddress("169.254.1.1")).isSpecialPurpose)
        #expect(try !#require(IPAddress("93.184.216.34")).isSpecialPurpose)

        let ula = try #require(IPNetwork("fd00::/8"))
        let inside = try #require(IPAddress("fd12:3456::1")), outside = try #require(IPAddress("fe80::1"))
        #expect(ula.contains(inside) && !ula.contains(outside))
        #expect(try #require(IPAddress("[fe80::1%eth0]")).isSpecialPurpose)
        #expect(try #require(IPAddress("::1")).isSpecialPurpose)
        #expect(try !#require(IPAddress("2606:4700::6810:85e5")).isSpecialPurpose)
        #expect(IPAddress("2001:db8:0:0:0:0:0:1") == IPAddress("2001:db8::1"))
        #expect(IPNetwork("::/129") == nil && IPNetwork("10.0.0.0/33") == nil && IPNetwork("fd00::") == nil)
    }

    @Test func urlPolicyRefusesInternalTargetsUnlessAllowed() throws {
        let strict = OutboundURLPolicy()
        #expect(throws: DomainError.self) { try strict.validate("http://192.168.1.10/x", param: "url") }
        #expect(throws: DomainError.self) { try strict.validate("http://[::1]:8080/x", param: "url") }
        #expect(throws: DomainError.self) { try strict.validate("https://user:pw@example.com/x", param: "url") }
        #expect(throws: Never.self) { try strict.validate("https://hooks.example.com/x", param: "url") }
        let local = try OutboundURLPolicy(allowedNetworksList: "127.0.0.0/8, 192.168.1.0/24")
        #expect(throws: Never.self) { try local.validate("http://localhost:9000/x", param: "url") }
        #expect(throws: Never.self) { try local.validate("http://192.168.1.10/x", param: "url") }
        #expect(throws: DomainError.self) { try local.validate("http://192.168.2.10/x", param: "url") }
        // IPv6 networks are allowed the same way (ZENTRA_WEBHOOK_ALLOWED_NETWORKS used to stop the server on one).
        let v6 = try OutboundURLPolicy(allowedNetworksList: "fd00:1::/32, 10.0.0.0/8")
        #expect(throws: Never.self) { try v6.validate("http://[fd00:1::5]/x", param: "url") }
        #expect(throws: DomainError.self) { try v6.validate("http://[fd00:2::5]/x", param: "url") }
        #expect(v6.permits(address: "10.1.2.3") && v6.permits(address: "::ffff:10.1.2.3") && !v6.permits(address: "192.168.0.1"))
        #expect(throws: DomainError.self) { try OutboundURLPolicy(allowedNetworksList: "10.0.0.0/33") }
    }

    /// Every special-purpose range is refused, and the IPv6 forms that carry an IPv4 address inside.
    @Test func specialPurposeRangesAreRefused() {
        let closed = OutboundURLPolicy()
        for address in ["198.18.0.1", "198.19.255.255", "192.0.0.8", "192.0.2.1", "198.51.100.7", "203.0.113.9", "192.88.99.1", "240.0.0.1",
                        "255.255.255.255", "224.0.0.251", "fec0::1", "64:ff9b::7f00:1", "64:ff9b::808:808", "::127.0.0.1", "::8.8.8.8",
                        "2002:7f00:1::1", "2001:0:4136:e378::1", "2001:db8::1", "100::1", "3fff::1", "5f00::1", "ff02::1"] {
            #expect(!closed.permits(address: address), "\(address)")
        }
        for address in ["198.20.0.1", "192.0.1.1", "8.8.8.8", "2606:4700::1111", "2a00:1450::1"] {
            #expect(closed.permits(address: address), "\(address)")
        }
    }

    /// Numeric hosts in the forms resolvers accept are judged as the address they stand for, and
    /// stored in canonical form.
    @Test func numericHostsAreCanonicalisedAtCreation() throws {
        let closed = OutboundURLPolicy()
        for host in ["2130706433", "127.1", "0x7f000001", "0177.0.0.1", "0x7f.0.0.1", "127.0.0.1.", "017700000001", "0", "10.1", "[::127.0.0.1]",
                     "[64:ff9b::7f00:1]", "[::ffff:127.0.0.1]", "[fec0::1]", "198.18.0.1"] {
            #expect(throws: DomainError.self, "\(host)") { try closed.validate("http://\(host):8080/hook", param: "url") }
        }
        for host in ["1.2.3.999", "256.1", "0x1.0x2.0x3.0x4.5", "example.123", "08.1.1.1"] {
            #expect(throws: DomainError.self, "\(host)") { try closed.validate("http://\(host)/hook", param: "url") }
        }
        #expect(try closed.validate("http://134744072/hook?x=1", param: "url") == "http://8.8.8.8/hook?x=1")
        #expect(try closed.validate("https://0x8.010.8.8:8443/h", param: "url") == "https://8.8.8.8:8443/h")
        #expect(try closed.validate("https://hooks.example.com/x", param: "url") == "https://hooks.example.com/x")
        let loopback = try OutboundURLPolicy(allowedNetworksList: "127.0.0.0/8")
        #expect(try loopback.validate("http://127.1:9000/h", param: "url") == "http://127.0.0.1:9000/h")
        #expect(IPAddress.numericIPv4("2130706433") == 0x7F00_0001 && IPAddress.numericIPv4("0177.0.0.1") == 0x7F00_0001)
        #expect(IPAddress.numericIPv4("4294967296") == nil && IPAddress.numericIPv4("1.2.65536") == nil && IPAddress.numericIPv4("1.2.65535") != nil)
    }
}
