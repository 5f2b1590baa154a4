import ZentraCore

/// The column names of one result, shared by all its rows: a row is then only its values.
/// A name that appears twice (a join's `id`) reads as its last column, as a dictionary would.
public final class SQLColumns: Sendable {
    let names: [String]
    let positions: [String: Int]
    var count: Int { names.count }

    public init(_ names: [String]) {
        self.names = names
        var positions: [String: Int] = [:]
        positions.reserveCapacity(names.count)
        for (position, name) in names.enumerated() { positions[name] = position }
        self.positions = positions
    }
}

/// One result row, detached from its engine: its values in column order, read by column name.
public struct SQLRow: Sendable {
    let columns: SQLColumns
    let values: [SQLValue]

    public init(columns: SQLColumns, values: [SQLValue]) {
        self.columns = columns
        self.values = values
    }

    public subscript(column: String) -> SQLValue { columns.positions[column].map { values[$0] } ?? .null }

    public func int(_ column: String) throws -> Int64 {
        if case .int(let value) = self[column] { return value }
        throw StoreError.decoding("column \(column) is not an integer")
    }

    public func optionalInt(_ column: String) throws -> Int64? {
        if case .null = self[column] { return nil }
        return try int(column)
    }

    public func string(_ column: String) throws -> String {
        if case .text(let value) = self[column] { return value }
        throw StoreError.decoding("column \(column) is not text")
    }

    public func optionalString(_ column: String) throws -> String? {
        if case .null = self[column] { return nil }
        return try string(column)
    }

    public func bytes(_ column: String) throws -> [UInt8] {
        switch self[column] {
        case .blob(let value): return value
        case .text(let value): return Array(value.utf8)
        default: throw StoreError.decoding("column \(column) is not a blob")
        }
    }

    public func bool(_ column: String) throws -> Bool { try int(column) != 0 }

    public func timestamp(_ column: String) throws -> Timestamp { Timestamp(microseconds: try int(column)) }

    public func optionalTimestamp(_ column: String) throws -> Timestamp? {
        try optionalInt(column).map { Timestamp(microseconds: $0) }
    }

    public func id<Kind>(_ column: String, as _: Kind.Type = Kind.self) throws -> ID<Kind> {
        ID(unchecked: try string(column))
    }

    public func optionalID<Kind>(_ column: String, as _: Kind.Type = Kind.self) throws -> ID<Kind>? {
        try optionalString(column).map { ID(unchecked: $0) }
    }

    public func currency(_ column: String) throws -> Currency {
        let code = try string(column)
        guard let currency = Currency(code: code) else { throw StoreError.decoding("unknown currency \(code) in \(column)") }
        return currency
    }

    public func enumValue<E: RawRepresentable>(_ column: String, as _: E.Type = E.self) throws -> E where E.RawValue == String {
        let raw = try string(column)
        guard let value = E(rawValue: raw) else { throw StoreError.decoding("unexpected value \(raw) in \(column)") }
        return value
    }

    public func json<T: Decodable>(_ column: String, as _: T.Type = T.self) throws -> T {
        if T.self == JSONValue.self { return try JSONValue.parse(try bytes(column)) as! T }
        return try ZentraJSON.decoder().decode(T.self, from: Data(try bytes(column)))
    }

    /// A small configuration value (spend controls, review rules, a webhook) stored as JSON. The same
    /// few texts repeat across thousands of cards and are read on every authorization, under the
    /// card's lock: each distinct text is decoded once and kept.
    public func configuration<T: Decodable & Sendable>(_ column: String, as _: T.Type = T.self) throws -> T {
        let text = try string(column)
        let key = "\(T.self)|\(text)"
        if let hit = Self.configurations[key] as? T { return hit }
        let value: T = try json(column)
        Self.configurations.keep(value, for: key)
        return value
    }

    /// Decoded configuration values by type and JSON text.
    private static let configurations = BoundedCache<String, any Sendable>(capacity: 10_000)

    public func optionalConfiguration<T: Decodable & Sendable>(_ column: String, as _: T.Type = T.self) throws -> T? {
        if case .null = self[column] { return nil }
        return try configuration(column, as: T.self)
    }
}

import Foundation
