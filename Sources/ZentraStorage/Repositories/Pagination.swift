import ZentraCore

/// A page request: `limit` 1...100, `starting_after` an object id (the last of the previous page).
public struct PageRequest: Sendable, Hashable {
    public static let limit_max = 100
    public let limit: Int
    public let startingAfter: String?

    public init(limit: Int = 20, startingAfter: String? = nil) {
        self.limit = limit
        self.startingAfter = startingAfter
    }
}

public struct Page<Item: Sendable>: Sendable {
    public let object = "list"
    public let data: [Item]
    public let hasMore: Bool

    public init(data: [Item], hasMore: Bool) {
        self.data = data
        self.hasMore = hasMore
    }
}

extension Page: Encodable where Item: Encodable {}

extension TenantScope {
    /// The one list query: newest first by `order` (then id), scoped to the tenant, `limit + 1`
    /// rows fetched to learn `has_more`. `table`, `columns` and `order` are code, never input.
    func page<Item: Sendable>(
        _ request: PageRequest, table: String, columns: String, order: String = "created_at",
        filter: SQL? = nil, decode: (SQLRow) throws -> Item
    ) async throws -> Page<Item> {
        var query: SQL = "SELECT \(raw: columns) FROM \(raw: table) WHERE tenant_id = \(tenant)"
        if let filter { query = query + " AND " + filter }
        if let cursor = request.startingAfter {
            guard let row = try await sql.queryOne(
                "SELECT \(raw: order) AS sort_key FROM \(raw: table) WHERE tenant_id = \(tenant) AND id = \(cursor)")
            else { throw DomainError.resourceMissing("object", id: cursor, param: "starting_after") }
            let key = try row.int("sort_key")
            query = query + " AND (\(raw: order) < \(key) OR (\(raw: order) = \(key) AND id < \(cursor)))"
        }
        query = query + " ORDER BY \(raw: order) DESC, id DESC LIMIT \(request.limit + 1)"
        let rows = try await sql.query(query)
        return Page(data: try rows.prefix(request.limit).map(decode), hasMore: rows.count > request.limit)
    }

    /// A page of objects read through a join (`select` aliases the table as `alias`): the ids come
    /// from `page`, the rows from one more statement, answered in page order.
    func page<Item: Sendable & Encodable>(
        _ request: PageRequest, table: String, filter: SQL? = nil, select: String, alias: String,
        decode: (SQLRow) throws -> Item
    ) async throws -> Page<Item> {
        let ids = try await page(request, table: table, columns: "id", filter: filter) { try $0.string("id") }
        guard !ids.data.isEmpty else { return Page(data: [], hasMore: false) }
        let rows = try await sql.query("\(raw: select) WHERE " + SQL.rows(ids.data, ofTenant: tenant, alias: alias))
        let byID = Dictionary(uniqueKeysWithValues: try rows.map { (try $0.string("id"), try decode($0)) })
        return Page(data: ids.data.compactMap { byID[$0] }, hasMore: ids.hasMore)
    }
}
