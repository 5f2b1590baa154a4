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
        #expect(try #require(IPAddress("169.254.1.1")).isInternal)
        #expect(try !#require(IPAddress("93.184.216.34")).isInternal)

        let ula = try #require(IPNetwork("fd00::/8"))
        let inside = try #require(IPAddress("fd12:3456::1")), outside = try #require(IPAddress("fe80::1"))
        #expect(ula.contains(inside) && !ula.contains(outside))
        #expect(try #require(IPAddress("[fe80::1%eth0]")).isInternal)
        #expect(try #require(IPAddress("::1")).isInternal)
        #expect(try !#require(IPAddress("2606:4700::6810:85e5")).isInternal)
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
}
