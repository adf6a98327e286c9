#if canImport(Glibc)
import Glibc
#endif

/// The file checks the command line needs.
enum FileSystem {
    /// Whether `path` exists.
    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }
}
