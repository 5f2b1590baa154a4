#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Room left on a volume for an unprivileged writer.
enum FreeSpace {
    /// Bytes available to this process on the volume holding `directory`; nil when it cannot be read.
    static func bytes(in directory: String) -> UInt64? {
        var volume = statvfs()
        guard statvfs(directory.isEmpty ? "." : directory, &volume) == 0 else { return nil }
        return UInt64(volume.f_bavail) * UInt64(volume.f_frsize)
    }
}
