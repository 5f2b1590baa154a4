import Foundation
import GRDB
import Logging
import Testing
import ZentraCore
@testable import ZentraHTTP
import ZentraStorage
import ZentraTestSupport

/// Decisions recorded by earlier releases (`scripts/record-golden-decisions`) must render exactly
/// as they were answered, whatever this release stores and however it renders: each golden folder
/// holds a database written by that release and the bytes of its answers. The database is migrated
/// by this release (on PostgreSQL its rows are loaded at the schema version it was recorded at
/// first), and every answer is read again and compared byte for byte.
@Suite struct GoldenDecisionTests {
    /// Each folder under `Golden/` and the schema version its database was written at.
    static let recordings: [(folder: String, schemaVersion: Int64)] = [("schema-8", 8), ("schema-9", 9)]

    struct Expected: Decodable {
        let tenant: String
        let adminKey: String
        /// When the answers were read: a card's spend per window is read at that instant again.
        let recordedAt: String
        let answers: [String: String]

        enum CodingKeys: String, CodingKey {
            case tenant
            case adminKey = "admin_key"
            case recordedAt = "recorded_at"
            case answers
        }
    }

    /// Where two answers part, with a little of each around it.
    static func difference(_ got: String, _ recorded: String) -> String {
        let got = Array(got.utf8), recorded = Array(recorded.utf8)
        let at = zip(got, recorded).prefix { $0 == $1 }.count
        func around(_ bytes: [UInt8]) -> String { String(decoding: bytes[max(0, at - 60)..<min(bytes.count, at + 60)], as: UTF8.self) }
        return "at byte \(at): got …\(around(got))… recorded …\(around(recorded))…"
    }

    static func folder(_ name: String) -> URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden").appendingPathComponent(name)
    }

    @Test(arguments: Backend.allCases)
    func recordedDecisionsRenderAsTheyWereAnswered(_ backend: Backend) async throws {
        for recording in Self.recordings {
            let folder = Self.folder(recording.folder)
            let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: folder.appendingPathComponent("expected.json")))
            let database = try await Self.load(folder.appendingPathComponent("zentra.sqlite").path, schemaVersion: recording.schemaVersion,
                                               into: backend)
            try await TestEnvironment.run(database: database, clock: TestClock(expected.recordedAt),
                                          tenant: (TenantID(unchecked: expected.tenant), expected.adminKey)) { env in
                for (path, answer) in expected.answers.sorted(by: { $0.key < $1.key }) {
                    let reply = try await env.get(path)
                    #expect(reply.status == .ok, "\(recording.folder) \(path): \(reply.text)")
                    let same = reply.text == answer
                    #expect(same, "\(recording.folder) \(path) differs from its recording: \(Self.difference(reply.text, answer))")
                }
            }
        }
    }

    /// A database of `backend` holding the recording: the file itself on SQLite; on PostgreSQL a new
    /// database migrated to the recording's schema version, every row copied in.
    static func load(_ path: String, schemaVersion: Int64, into backend: Backend) async throws -> DatabaseURL {
        let database = try await backend.makeDatabaseURL()
        switch database {
        case .sqlite(let copy):
            try FileManager.default.copyItem(atPath: path, toPath: copy)
        case .postgres:
            // Read from a copy: opening the recording itself (a WAL database) would write beside it.
            let copy = FileManager.default.temporaryDirectory.appendingPathComponent("zentra-golden-\(UUID().uuidString).sqlite").path
            try FileManager.default.copyItem(atPath: path, toPath: copy)
            defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: copy + suffix) } }
            var logger = Logger(label: "zentra-golden")
            logger.logLevel = .error
            let engine = try database.makeEngine(logger: logger, leaseTimeout: .seconds(30))
            let service = Task { try await engine.service?.run() }
            defer { service.cancel() }
            _ = try await Migrations.run(on: engine, clock: SystemClock(), through: schemaVersion)
            let recorded = try DatabaseQueue(path: copy, configuration: { var c = Configuration(); c.readonly = true; return c }())
            let tables = try await recorded.read { db in
                try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name <> 'schema_migrations'")
            }
            for table in tables {
                // Each row as its column names and bound values (GRDB's rows stay on its queue).
                let rows = try await recorded.read { db in
                    try Row.fetchAll(db, sql: "SELECT * FROM \(table)").map { row -> ([String], [SQLValue]) in
                        (Array(row.columnNames), try row.databaseValues.map { value -> SQLValue in
                            switch value.storage {
                            case .null: .null
                            case .int64(let int): .int(int)
                            case .string(let text): .text(text)
                            case .blob(let data): .blob([UInt8](data))
                            case .double: throw StoreError.decoding("a REAL value in recorded table \(table)")
                            }
                        })
                    }
                }
                try await engine.withTransaction { sql in
                    for (columns, values) in rows {
                        try await sql.execute("INSERT INTO \(raw: table) (\(raw: columns.joined(separator: ", "))) VALUES ("
                            + ZentraStorage.SQL.joined(values.map { "\($0)" }, separator: ", ") + ")")
                    }
                }
            }
        }
        return database
    }
}
