/// Many rows of one table written together. On PostgreSQL one statement whatever their number: each
/// column is bound as one array and `unnest`ed, so the statement's text (and plan) is the same for
/// every batch. On SQLite one prepared single-row statement each: there is no round trip to save,
/// and a multi-row text would be compiled again for every row count.
public struct BulkRows: Sendable {
    public enum ColumnType: String, Sendable {
        case text
        case bigint
    }

    public struct Column: Sendable {
        public let name: String
        public let type: ColumnType

        public init(_ name: String, _ type: ColumnType) {
            self.name = name
            self.type = type
        }
    }

    public let table: String
    public let columns: [Column]
    public private(set) var rows: [[SQLValue]] = []

    public init(_ table: String, _ columns: [Column]) {
        self.table = table
        self.columns = columns
    }

    public var isEmpty: Bool { rows.isEmpty }

    public mutating func append(_ row: [SQLValue]) {
        precondition(row.count == columns.count, "a row of \(table) with \(row.count) values for \(columns.count) columns")
        rows.append(row)
    }

    /// Each column's values as one array, for `unnest`.
    func arrays() throws -> [SQLValue] {
        try columns.indices.map { index in
            switch columns[index].type {
            case .text:
                .textArray(try rows.map { row in
                    switch row[index] {
                    case .null: nil
                    case .text(let text): text
                    default: throw StoreError.other("\(table).\(columns[index].name) is text")
                    }
                })
            case .bigint:
                .intArray(try rows.map { row in
                    switch row[index] {
                    case .null: nil
                    case .int(let int): int
                    default: throw StoreError.other("\(table).\(columns[index].name) is a bigint")
                    }
                })
            }
        }
    }

    /// `unnest($1::text[], $2::bigint[], …) AS v(a, b, …)`
    func unnested(_ alias: String) throws -> SQL {
        let arrays = try arrays()
        let parts = zip(arrays, columns).map { array, column in "\(array)::\(raw: column.type.rawValue)[]" as SQL }
        return "unnest(" + SQL.joined(parts, separator: ", ") + ") AS \(raw: alias)(\(raw: columns.map(\.name).joined(separator: ", ")))"
    }
}

extension SQLExecutor {
    /// Inserts every row; `suffix` (`ON CONFLICT … DO NOTHING RETURNING …`) applies to each statement,
    /// and the rows every statement returned are answered together.
    @discardableResult
    public func insert(_ bulk: BulkRows, suffix: SQL = "") async throws -> [SQLRow] {
        guard !bulk.isEmpty else { return [] }
        let names = bulk.columns.map(\.name).joined(separator: ", ")
        switch dialect {
        case .postgres:
            return try await query("INSERT INTO \(raw: bulk.table) (\(raw: names)) SELECT * FROM " + (try bulk.unnested("v")) + " " + suffix)
        case .sqlite:
            var returned: [SQLRow] = []
            for row in bulk.rows {
                returned += try await query("INSERT INTO \(raw: bulk.table) (\(raw: names)) VALUES ("
                    + SQL.joined(row.map { "\($0)" }, separator: ", ") + ") " + suffix)
            }
            return returned
        }
    }

    /// Updates rows found by the leading `keys` columns of `bulk` with the values of the others.
    public func update(_ bulk: BulkRows, keys: Int) async throws {
        guard !bulk.isEmpty else { return }
        let keyColumns = bulk.columns.prefix(keys).map(\.name)
        let setColumns = bulk.columns.dropFirst(keys).map(\.name)
        switch dialect {
        case .postgres:
            let sets = setColumns.map { "\($0) = v.\($0)" }.joined(separator: ", ")
            let match = keyColumns.map { "t.\($0) = v.\($0)" }.joined(separator: " AND ")
            try await execute("UPDATE \(raw: bulk.table) AS t SET \(raw: sets) FROM " + (try bulk.unnested("v")) + " WHERE \(raw: match)")
        case .sqlite:
            for row in bulk.rows {
                let sets = zip(setColumns, row.dropFirst(keys)).map { column, value in "\(raw: column) = \(value)" as SQL }
                let match = zip(keyColumns, row.prefix(keys)).map { column, value in "\(raw: column) = \(value)" as SQL }
                try await execute("UPDATE \(raw: bulk.table) SET " + SQL.joined(sets, separator: ", ") + " WHERE "
                    + SQL.joined(match, separator: " AND "))
            }
        }
    }
}
