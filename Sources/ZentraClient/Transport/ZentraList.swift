/// An object with an id: what a list pages by (`starting_after`).
public protocol Identified: Decodable, Sendable {
    var id: String { get }
}

/// One page of a list endpoint: `{"data": [...], "has_more": bool}`.
public struct Page<Element: Decodable & Sendable>: Decodable, Sendable {
    public let data: [Element]
    public let hasMore: Bool

    enum CodingKeys: String, CodingKey {
        case data
        case hasMore = "has_more"
    }
}

/// Every object of a list endpoint, newest first, fetched a page at a time as the loop asks for
/// them: `for try await card in zentra.cards.list() { ... }`. Breaking out of the loop fetches no
/// further page.
public struct ZentraList<Element: Identified>: AsyncSequence, Sendable {
    /// Objects per request, 1...100.
    public let pageSize: Int
    let fetch: @Sendable (_ limit: Int, _ startingAfter: String?) async throws -> Page<Element>

    init(transport: Transport, path: String, query: [String: String?] = [:], pageSize: Int) {
        self.pageSize = Swift.min(Swift.max(pageSize, 1), 100)
        self.fetch = { limit, startingAfter in
            try await transport.page(path, query: query, limit: limit, startingAfter: startingAfter)
        }
    }

    /// The first page alone.
    public func firstPage() async throws -> Page<Element> {
        try await fetch(pageSize, nil)
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(list: self)
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let list: ZentraList
        var buffered: [Element] = []
        var index = 0
        var cursor: String?
        var exhausted = false

        init(list: ZentraList) { self.list = list }

        public mutating func next() async throws -> Element? {
            while index == buffered.count {
                guard !exhausted else { return nil }
                let page = try await list.fetch(list.pageSize, cursor)
                buffered = page.data
                index = 0
                cursor = page.data.last?.id
                // A page that says more follows but names no cursor would loop forever.
                exhausted = !page.hasMore || cursor == nil
            }
            defer { index += 1 }
            return buffered[index]
        }
    }
}
