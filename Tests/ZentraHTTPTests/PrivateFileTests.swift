import Foundation
import Testing
import ZentraApp
import ZentraCore
import ZentraStorage

/// Key files and the SQLite database are private to their owner from their first byte, and a key
/// file others may read is refused.
@Suite struct PrivateFileTests {
    static func temporaryPath(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("zentra-private-\(UUID().uuidString)-\(name)").path
    }

    static func mode(_ path: String) throws -> Int {
        try #require(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
    }

    @Test func keyFilesAreCreatedPrivateAndReadBack() throws {
        let card = Self.temporaryPath("card.key"), evidence = Self.temporaryPath("evidence.keys")
        defer { for path in [card, evidence] { try? FileManager.default.removeItem(atPath: path) } }
        let key = try CardDataKey.loadOrCreate(file: card)
        let ring = try EvidenceKeyRing.loadOrCreate(file: evidence)
        #expect(try Self.mode(card) == 0o600 && Self.mode(evidence) == 0o600)
        // Read back, not made again.
        let sealed = try CardVault(key: key).seal(secret: "s", tenant: TenantID("ten_1")!, purpose: "p")
        #expect(try CardVault(key: CardDataKey.loadOrCreate(file: card)).open(secret: sealed, tenant: TenantID("ten_1")!, purpose: "p") == "s")
        #expect(try EvidenceKeyRing.loadOrCreate(file: evidence).current.id == ring.current.id)
        // A rotation replaces the file, private again.
        try ring.rotated().write(to: evidence)
        #expect(try Self.mode(evidence) == 0o600 && EvidenceKeyRing.loadOrCreate(file: evidence).keys.count == 2)
    }

    @Test func keyFilesOthersMayReadAreRefused() throws {
        let card = Self.temporaryPath("card.key"), evidence = Self.temporaryPath("evidence.keys")
        defer { for path in [card, evidence] { try? FileManager.default.removeItem(atPath: path) } }
        _ = try CardDataKey.loadOrCreate(file: card)
        _ = try EvidenceKeyRing.loadOrCreate(file: evidence)
        for (path, mode) in [(card, 0o644), (evidence, 0o640), (card, 0o602)] {
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
            #expect(throws: PrivateFile.Failure.self, "mode \(String(mode, radix: 8))") {
                if path == card { _ = try CardDataKey.loadOrCreate(file: path) } else { _ = try EvidenceKeyRing.loadOrCreate(file: path) }
            }
        }
    }

    @Test func creatingIsExclusive() throws {
        let path = Self.temporaryPath("exclusive")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try PrivateFile.create(path, contents: Array("first".utf8))
        #expect(throws: PrivateFile.Failure.self) { try PrivateFile.create(path, contents: Array("second".utf8)) }
        #expect(try PrivateFile.readOrCreate(path) { Array("second".utf8) } == Array("first".utf8), "the file there wins")
    }

    @Test func aNewSQLiteDatabaseIsPrivate() async throws {
        let directory = Self.temporaryPath("db")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/zentra.sqlite"
        let engine = try SQLiteEngine(path: path)
        try await engine.withTransaction { sql in try await sql.execute("CREATE TABLE probe (n BIGINT)") }
        for file in try FileManager.default.contentsOfDirectory(atPath: directory) {
            #expect(try Self.mode(directory + "/" + file) == 0o600, "\(file)")
        }
        try await engine.close()
    }
}
