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
        /// `sslmode` as libpq reads it, `disable` when the URL names none.
        public var sslMode: SSLMode
        /// `sslrootcert`: the CA file `verify-ca` and `verify-full` trust; the system's CAs without it.
        public var sslRootCert: String?

        public init(host: String, port: Int, user: String, password: String?, database: String, sslMode: SSLMode = .disable,
                    sslRootCert: String? = nil) {
            self.host = host
            self.port = port
            self.user = user
            self.password = password
            self.database = database
            self.sslMode = sslMode
            self.sslRootCert = sslRootCert
        }
    }

    /// TLS toward PostgreSQL, libpq's modes: `prefer` and `require` encrypt without checking the
    /// server's certificate, `verify-ca` checks it against the CA, `verify-full` also its host name.
    public enum SSLMode: String, Sendable, Hashable, CaseIterable {
        case disable
        case prefer
        case require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
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
        let query = components.queryItems ?? []
        let rawMode = query.last { $0.name == "sslmode" }?.value ?? SSLMode.disable.rawValue
        guard let sslMode = SSLMode(rawValue: rawMode) else {
            throw StoreError.other("sslmode=\(rawMode) is not one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self = .postgres(Postgres(
            host: host, port: components.port ?? 5432, user: components.user ?? "postgres",
            password: components.password?.removingPercentEncoding, database: database.isEmpty ? "postgres" : database,
            sslMode: sslMode, sslRootCert: query.last { $0.name == "sslrootcert" }?.value))
    }

    /// The URL without its password, for log lines and error messages.
    public var description: String {
        switch self {
        case .sqlite(let path): "sqlite://\(path)"
        case .postgres(let pg):
            "postgres://\(pg.user)@\(pg.host):\(pg.port)/\(pg.database)" + (pg.sslMode == .disable ? "" : "?sslmode=\(pg.sslMode.rawValue)")
        }
    }

    /// - Parameter leaseTimeout: PostgreSQL only: how long a request waits for a connection.
    public func makeEngine(logger: Logger, leaseTimeout: Duration = .seconds(5)) throws -> any DatabaseEngine {
        switch self {
        case .sqlite(let path): try SQLiteEngine(path: path)
        case .postgres(let url): PostgresEngine(url: url, leaseTimeout: leaseTimeout, logger: logger)
        }
    }
}
