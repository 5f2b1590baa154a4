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

    /// `unnest($1::text[], $2::bigint[], …) AS v(a, b, …)`; with `ordinality`, each row's number
    /// from 1 in the last column, `n`.
    func unnested(_ alias: String, ordinality: Bool = false) throws -> SQL {
        let arrays = try arrays()
        let parts = zip(arrays, columns).map { array, column in "\(array)::\(raw: column.type.rawValue)[]" as SQL }
        let names = columns.map(\.name) + (ordinality ? ["n"] : [])
        return "unnest(" + SQL.joined(parts, separator: ", ") + ")\(raw: ordinality ? " WITH ORDINALITY" : "") AS \(raw: alias)(\(raw: names.joined(separator: ", ")))"
    }
}

extension BulkRows {
    /// PostgreSQL's one statement for every row, to run alone or as a part of a `WITH`.
    func insertStatement(suffix: SQL = "") throws -> SQL {
        ("INSERT INTO \(raw: table) (\(raw: columns.map(\.name).joined(separator: ", "))) SELECT * FROM " + (try unnested("v")) + " " + suffix)
            .prepared()
    }

    /// PostgreSQL's one statement updating the rows found by the leading `keys` columns. With
    /// `expected`, the last that many columns are each named `was_<column>` and hold the value
    /// the row was read with: a row whose value changed since is left as it is (compare and set),
    /// and `RETURNING` tells which rows were written.
    func updateStatement(keys: Int, expected: Int = 0) throws -> SQL {
        let sets = columns.dropFirst(keys).dropLast(expected).map { "\($0.name) = v.\($0.name)" }
        return ("UPDATE \(raw: table) AS t SET \(raw: sets.joined(separator: ", ")) FROM " + (try unnested("v"))
            + " WHERE \(raw: match(keys: keys, expected: expected))").prepared()
    }

    /// PostgreSQL's one statement selecting the rows, found by the leading `keys` columns, that
    /// still hold the values of the others (each named `was_<column>`): counted, it checks that
    /// rows read before were left as they were.
    func unchangedStatement(keys: Int) throws -> SQL {
        ("SELECT 1 FROM \(raw: table) AS t, " + (try unnested("v")) + " WHERE \(raw: match(keys: keys, expected: columns.count - keys))")
            .prepared()
    }

    private func match(keys: Int, expected: Int) -> String {
        (columns.prefix(keys).map { "t.\($0.name) = v.\($0.name)" }
            + columns.suffix(expected).map { "t.\($0.name.dropFirst("was_".count)) = v.\($0.name)" }).joined(separator: " AND ")
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
            return try await query(try bulk.insertStatement(suffix: suffix))
        case .sqlite:
            let (suffixText, suffixBinds) = suffix.render(.sqlite)
            precondition(suffixBinds.isEmpty, "a bulk insert's suffix binds nothing")
            let placeholders = repeatElement("?", count: bulk.columns.count).joined(separator: ", ")
            return try await run("INSERT INTO \(bulk.table) (\(names)) VALUES (\(placeholders)) \(suffixText)", rows: bulk.rows)
        }
    }

    /// Updates rows found by the leading `keys` columns of `bulk` with the values of the others.
    public func update(_ bulk: BulkRows, keys: Int) async throws {
        guard !bulk.isEmpty else { return }
        let keyColumns = bulk.columns.prefix(keys).map(\.name)
        let setColumns = bulk.columns.dropFirst(keys).map(\.name)
        switch dialect {
        case .postgres:
            try await execute(try bulk.updateStatement(keys: keys))
        case .sqlite:
            let sets = setColumns.map { "\($0) = ?" }.joined(separator: ", ")
            let match = keyColumns.map { "\($0) = ?" }.joined(separator: " AND ")
            _ = try await run("UPDATE \(bulk.table) SET \(sets) WHERE \(match)", rows: bulk.rows.map { Array($0.dropFirst(keys) + $0.prefix(keys)) })
        }
    }
}
