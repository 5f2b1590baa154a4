import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Files only their owner may read: key files and the SQLite database. Created with
/// `O_CREAT|O_EXCL` and mode 0600 from the first byte (never a temporary file with looser
/// permissions that is then tightened), and refused when others may read them.
public enum PrivateFile {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        /// The file was there already (another process created it first).
        public var exists = false
    }

    /// Creates `path` with `contents`, synced to disk; fails with `exists` when it is already there.
    public static func create(_ path: String, contents: [UInt8]) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw Failure(description: "cannot create \(path): \(reason())", exists: errno == EEXIST)
        }
        defer { close(descriptor) }
        var written = 0
        while written < contents.count {
            let count = contents[written...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            guard count > 0 else {
                if count < 0 && errno == EINTR { continue }
                unlink(path)
                throw Failure(description: "cannot write \(path): \(reason())")
            }
            written += count
        }
        guard fsync(descriptor) == 0 else {
            unlink(path)
            throw Failure(description: "cannot sync \(path): \(reason())")
        }
    }

    /// Creates `path` empty unless it exists. SQLite gives a database's WAL and shared-memory files
    /// the database file's mode, so they are private too.
    public static func createIfMissing(_ path: String) throws {
        do {
            try create(path, contents: [])
        } catch let failure as Failure where failure.exists {
            return
        }
    }

    /// The contents of `path`, nil when there is none; refused when its group or others have any
    /// permission on it.
    public static func read(_ path: String) throws -> [UInt8]? {
        var info = stat()
        guard stat(path, &info) == 0 else {
            if errno == ENOENT { return nil }
            throw Failure(description: "cannot read \(path): \(reason())")
        }
        let mode = info.st_mode & 0o777
        guard mode & 0o077 == 0 else {
            throw Failure(description: "\(path) is open to other users (mode \(String(mode, radix: 8))); make it private: chmod 600 \(path)")
        }
        return Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// The contents of `path`, created by `make` when there is none; when two processes start at
    /// once, the one that loses the race reads what the other wrote.
    public static func readOrCreate(_ path: String, _ make: () throws -> [UInt8]) throws -> [UInt8] {
        if let contents = try read(path) { return contents }
        let contents = try make()
        do {
            try create(path, contents: contents)
            return contents
        } catch let failure as Failure where failure.exists {
            return try read(path) ?? contents
        }
    }

    /// Replaces `path` at once: a new private file beside it, synced, then renamed over it.
    public static func replace(_ path: String, contents: [UInt8]) throws {
        let temporary = "\(path).\(UUID().uuidString).new"
        try create(temporary, contents: contents)
        guard rename(temporary, path) == 0 else {
            unlink(temporary)
            throw Failure(description: "cannot replace \(path): \(reason())")
        }
    }

    private static func reason() -> String { String(cString: strerror(errno)) }
}
