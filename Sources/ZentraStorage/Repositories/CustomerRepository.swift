import ZentraCore

/// Customers: who holds accounts and cards, and their KYC status.
public struct CustomerRepository<Scope: TenantScope>: AggregateRepository {
    let base: Scope
}

extension TenantScope {
    public var customers: CustomerRepository<Self> { CustomerRepository(base: self) }
}

extension CustomerRepository {
    public func find(_ id: CustomerID) async throws -> Customer? {
        try await sql.queryOne("SELECT * FROM customers WHERE tenant_id = \(tenant) AND id = \(id)").map(decodeCustomer)
    }

    public func list(_ request: PageRequest) async throws -> Page<Customer> {
        try await base.page(request, table: "customers", columns: "*", decode: decodeCustomer)
    }

    func decodeCustomer(_ row: SQLRow) throws -> Customer {
        Customer(id: try row.id("id"), name: try row.string("name"), email: try row.string("email"),
                 kycStatus: try row.enumValue("kyc_status"), createdAt: try row.timestamp("created_at"),
                 updatedAt: try row.timestamp("updated_at"))
    }
}

extension CustomerRepository where Scope == WriteTransaction {
    /// The customer, row-locked until commit; a missing one is a 404 naming `param`.
    public func locked(_ id: CustomerID, param: String? = nil) async throws -> Customer {
        guard let row = try await sql.queryOne("SELECT * FROM customers WHERE tenant_id = \(tenant) AND id = \(id)" + SQL.forUpdate)
        else { throw DomainError.resourceMissing("customer", id: id.rawValue, param: param) }
        return try decodeCustomer(row)
    }

    public func insert(_ customer: Customer) async throws {
        try await sql.execute("""
            INSERT INTO customers (id, tenant_id, name, email, kyc_status, created_at, updated_at)
            VALUES (\(customer.id), \(tenant), \(customer.name), \(customer.email), \(customer.kycStatus),
                    \(customer.createdAt), \(customer.updatedAt))
            """)
    }

    public func updateKYC(_ id: CustomerID, status: KYCStatus) async throws {
        try await sql.execute(
            "UPDATE customers SET kyc_status = \(status), updated_at = \(now) WHERE tenant_id = \(tenant) AND id = \(id)")
    }
}
