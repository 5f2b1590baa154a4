import Foundation
import Hummingbird
import NIOCore
import ZentraStorage

/// A temporary file written in order and then streamed out once: how an answer too large to hold
/// in memory (a clearing file's line-by-line results) is built while the request is still read.
/// The file is removed when the spool is dropped. Unchecked `Sendable`: one request writes it, and
/// only after that its response reads it, never both at once.
final class SpoolFile: @unchecked Sendable {
    private let url: URL
    private let handle: FileHandle
    private var buffer: [UInt8] = []
    private(set) var size = 0
    static let chunkBytes = 64 * 1024

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("zentra-spool-\(UUID().uuidString)")
        try PrivateFile.create(url.path, contents: [])
        handle = try FileHandle(forUpdating: url)
    }

    deinit {
        try? handle.close()
        try? FileManager.default.removeItem(at: url)
    }

    func append(_ bytes: [UInt8]) throws {
        buffer.append(contentsOf: bytes)
        size += bytes.count
        if buffer.count >= Self.chunkBytes { try flush() }
    }

    func flush() throws {
        guard !buffer.isEmpty else { return }
        try handle.write(contentsOf: buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    /// Writes everything spooled to `writer`, a chunk at a time.
    func stream(to writer: inout any ResponseBodyWriter) async throws {
        try flush()
        try handle.seek(toOffset: 0)
        while let data = try handle.read(upToCount: Self.chunkBytes), !data.isEmpty {
            try await writer.write(ByteBuffer(bytes: data))
        }
    }
}
