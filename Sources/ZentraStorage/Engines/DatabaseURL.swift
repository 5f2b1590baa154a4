import Foundation
import Logging

/// Where the data lives: `sqlite://./zentra.sqlite`, `sqlite:///abs/path.sqlite` or
/// `postgres://user:pass@host:port/db`.
public enum DatabaseURL: Sendable, Hashable, CustomStringConvertible {
    case sqlite(path: String)
    case postgres(Postgres)

    public struct Postgres: Sendable, Hashable {
        public var host: String
        public var port: Int
        public var user: String
        public var password: String?
        public var database: String

        public init(host: String, port: Int, user: String, password: String?, database: String) {
            self.host = host
            self.port = port
            self.user = user
            self.password = password
            self.database = database
        }
    }

    public static let defaultURL = "sqlite://./zentra.sqlite"

    public init(_ string: String) throws {
        if string.hasPrefix("sqlite://") {
            let path = String(string.dropFirst("sqlite://".count))
            guard !path.isEmpty else { throw StoreError.other("sqlite URL needs a path: \(string)") }
            self = .sqlite(path: path)
            return
        }
        guard let components = URLComponents(string: string),
            components.scheme == "postgres" || components.scheme == "postgresql",
            let host = components.host, !host.isEmpty
        else {
            throw StoreError.other("unsupported database URL (expected sqlite://PATH or postgres://user:pass@host:port/db)")
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        self = .postgres(Postgres(
            host: host, port: components.port ?? 5432, user: components.user ?? "postgres",
            password: components.password?.removingPercentEncoding, database: database.isEmpty ? "postgres" : database))
    }

    /// The URL without its password, for log lines and error messages.
    public var description: String {
        switch self {
        case .sqlite(let path): "sqlite://\(path)"
        case .postgres(let pg): "postgres://\(pg.user)@\(pg.host):\(pg.port)/\(pg.database)"
        }
    }

    /// - Parameter lease_timeout: PostgreSQL only: how long a request waits for a connection.
    public func makeEngine(logger: Logger, lease_timeout: Duration = .seconds(5)) throws -> any DatabaseEngine {
        switch self {
        case .sqlite(let path): try SQLiteEngine(path: path)
        case .postgres(let url): PostgresEngine(url: url, lease_timeout: lease_timeout, logger: logger)
        }
    }
}
