#if canImport(Glibc)
import Glibc
#endif

/// The file checks and writes the command line needs.
enum FileSystem {
    /// Whether `path` exists.
    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// Creates `path`, which must not exist yet, with `mode` from the start (no
    /// window in which a secret is readable under the umask's mode) and writes `text`.
    static func createExclusively(_ path: String, _ text: String, mode: mode_t) throws(HostFileError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode)
        guard fd >= 0 else { throw HostFileError("cannot create \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        _ = fchmod(fd, mode)  // the umask may have cleared bits of `mode`
        let bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
            if count < 0 {
                if errno == EINTR { continue }
                let reason = String(cString: strerror(errno))
                unlink(path)
                throw HostFileError("cannot write \(path): \(reason)")
            }
            written += count
        }
    }
}
