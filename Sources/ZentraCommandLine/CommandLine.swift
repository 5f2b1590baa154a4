// What the `zentra` and `zentra-bench` executables share: the database option, the logger, a
// migrated store for the length of a command, and the card data key.
import ArgumentParser
import Foundation
import Logging
import ZentraApp
import ZentraCore
import ZentraHTTP
import ZentraStorage

/// `--database`, falling back to `ZENTRA_DATABASE_URL`, then to the embedded SQLite file.
public struct DatabaseOption: ParsableArguments {
    @Option(name: .long, help: "sqlite:///path/file.sqlite or postgres://user:pass@host:port/db (env ZENTRA_DATABASE_URL)")
    public var database: String?

    public init() {}

    public func url() throws -> DatabaseURL {
        let raw = database ?? ProcessInfo.processInfo.environment["ZENTRA_DATABASE_URL"] ?? DatabaseURL.defaultURL
        do {
            return try DatabaseURL(raw)
        } catch {
            throw ValidationError("\(error)")
        }
    }
}

public func makeLogger() -> Logger {
    var logger = Logger(label: "zentra")
    logger.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
    return logger
}

/// Runs `body` with a migrated store, keeping the engine's background service alive meanwhile.
/// Any failure is printed as one line and the process exits non-zero.
/// - Parameter creating: whether a SQLite file that is not there may be made. Only `migrate` (and
///   `serve`) make a database; any other command on a path with nothing there is a mistake, and
///   answering from an empty database made on the spot would be a false all-clear.
/// - Parameter migrating: false when the body runs the migrations itself.
public func withStore<T: Sendable>(_ url: DatabaseURL, creating: Bool = false, migrating: Bool = true,
                            _ body: @escaping @Sendable (Store) async throws -> T) async throws -> T {
    let logger = makeLogger()
    do {
        if case .sqlite(let path) = url, !creating, !FileManager.default.fileExists(atPath: path) {
            throw StartupError(message: "there is no database at \(path): start `zentra serve` or run `zentra migrate` there first")
        }
        let engine = try url.makeEngine(logger: logger)
        let store = Store(engine: engine, ids: TimeOrderedIDGenerator(), clock: SystemClock(), logger: logger)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            if let service = engine.service {
                group.addTask {
                    try await service.run()
                    return nil
                }
            }
            group.addTask {
                if migrating { try await Startup.migrate(engine: engine, clock: store.clock, database: url, logger: logger) }
                return try await body(store)
            }
            defer { group.cancelAll() }
            while let next = try await group.next() {
                if let result = next { return result }
            }
            throw StartupError(message: "the database service stopped")
        }
    } catch let error as ExitCode {
        throw error
    } catch {
        FileHandle.standardError.write(Data("zentra: error: \(error)\n".utf8))
        throw ExitCode.failure
    }
}

/// `--card-data-key-file`, unless `ZENTRA_CARD_DATA_KEY` (base64) gives the key.
public struct CardDataKeyOption: ParsableArguments {
    @Option(help: "Card data key file, created (0600) on first use unless ZENTRA_CARD_DATA_KEY is set.")
    public var cardDataKeyFile = "./zentra-card-data.key"

    public init() {}

    public func load() throws -> CardDataKey {
        try ProcessInfo.processInfo.environment["ZENTRA_CARD_DATA_KEY"].map { try CardDataKey(base64: $0) }
            ?? CardDataKey.loadOrCreate(file: cardDataKeyFile)
    }
}
