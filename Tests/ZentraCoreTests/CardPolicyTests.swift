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
        let network = try #require(IPv4Network("172.16.0.0/12"))
        #expect(network.contains(try #require(IPv4Address("172.31.255.255"))))
        #expect(!network.contains(try #require(IPv4Address("172.32.0.1"))))
        #expect(IPv4Address("256.1.1.1") == nil && IPv4Address("1.2.3") == nil)
        #expect(try #require(IPv4Address("169.254.1.1")).isInternal)
        #expect(try !#require(IPv4Address("93.184.216.34")).isInternal)
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
        #expect(throws: DomainError.self) { try OutboundURLPolicy(allowedNetworksList: "10.0.0.0/33") }
    }
}
