#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// OpenSSH's `safe_path` rule for what the host loads or reads: the file and
/// every folder above it, up to `/`, must be owned by root or the host's own
/// user and be writable by nobody else.
///
/// Anyone who can write a library, a manifest, the host config or any folder
/// above them (and so rename things inside it) can run code as the host. A
/// root-owned folder with the sticky bit, such as `/tmp`, is fine as a parent:
/// nobody else can rename or delete what lies in it.
enum FilePermissions {
    /// Why a path is not safe: which path, its owner and mode.
    struct Problem: Error, CustomStringConvertible {
        /// One sentence naming the path, its owner and mode, and the fix.
        let description: String
    }

    /// Folders already found safe as parents during one load pass: a scan of
    /// 100 plugins in one folder walks the folders above it once, not 200 times.
    final class SafeParents: Sendable {
        private let folders = Mutex<Set<String>>([])

        /// An empty set, for one pass.
        init() {}

        func contains(_ folder: String) -> Bool { folders.withLock { $0.contains(folder) } }
        func insert(_ folder: String) { _ = folders.withLock { $0.insert(folder) } }
    }

    /// Checks `path` (resolved through symlinks) and each of its parents, and
    /// also every folder and link on the way as the path is written: a folder
    /// others can write that holds a symlink on the way lets them point it elsewhere.
    /// - Parameter known: Parents found safe earlier in the same pass (checked once, then trusted for the pass).
    static func check(_ path: String, known: SafeParents? = nil) throws(Problem) {
        // Committed bytes laid over the disk were checked when they were committed.
        if FileOverlay.holds(path) { return }
        guard let resolved = FileSystem.realPath(path) else {
            throw Problem(description: "\(path): cannot resolve the path: \(FileSystem.errorText())")
        }
        try checkWrittenPrefixes(of: path, known: known)
        let me = geteuid()
        var current = resolved
        var isTarget = true
        while true {
            var info = stat()
            guard lstat(current, &info) == 0 else {
                throw Problem(description: "\(current): cannot stat: \(FileSystem.errorText())")
            }
            let mode = info.st_mode & 0o7777
            let isDirectory = info.st_mode & S_IFMT == S_IFDIR
            let subject = current == resolved && path != resolved ? "\(current) (resolved from \(path))" : current
            if info.st_uid != 0 && info.st_uid != me {
                throw Problem(description: "\(subject) is owned by uid \(info.st_uid), mode \(octal(mode)): only root or the host's user (uid \(me)) may own it")
            }
            let sharedSticky = !isTarget && isDirectory && info.st_uid == 0 && mode & 0o1000 != 0
            if mode & 0o022 != 0 && !sharedSticky {
                let who = mode & 0o002 != 0 ? "everyone" : "its group"
                throw Problem(description: "\(subject) is writable by \(who) (mode \(octal(mode)), owner uid \(info.st_uid)): run chmod go-w on it")
            }
            if !isTarget { known?.insert(current) }
            if current == "/" { return }
            current = FileSystem.directory(of: current)
            if current.isEmpty { current = "/" }
            if known?.contains(current) == true { return }
            isTarget = false
        }
    }

    /// The folders (and links) on the way to `path` as written, made absolute; each
    /// must be owned by root or this user, and folders not writable by others
    /// (a root-owned sticky folder excepted). The resolved walk checks the rest.
    private static func checkWrittenPrefixes(of path: String, known: SafeParents?) throws(Problem) {
        var absolute = path
        if !path.hasPrefix("/") {
            guard let cwd = getcwd(nil, 0) else { return }
            absolute = FileSystem.join(String(cString: cwd), path)
            free(cwd)
        }
        let me = geteuid()
        var prefix = ""
        let components = absolute.split(separator: "/")
        for component in components.dropLast() {
            prefix += "/" + component
            if known?.contains(prefix) == true { continue }
            var info = stat()
            guard lstat(prefix, &info) == 0 else { return }  // the resolved walk reports what is missing
            let mode = info.st_mode & 0o7777
            if info.st_uid != 0 && info.st_uid != me {
                throw Problem(description: "\(prefix) (on the way to \(path)) is owned by uid \(info.st_uid), mode \(octal(mode)): only root or the host's user (uid \(me)) may own it")
            }
            let isDirectory = info.st_mode & S_IFMT == S_IFDIR
            let sharedSticky = isDirectory && info.st_uid == 0 && mode & 0o1000 != 0
            if isDirectory && mode & 0o022 != 0 && !sharedSticky {
                let who = mode & 0o002 != 0 ? "everyone" : "its group"
                throw Problem(description: "\(prefix) is writable by \(who) (mode \(octal(mode)), owner uid \(info.st_uid)), on the way to \(path): run chmod go-w on it")
            }
            if isDirectory { known?.insert(prefix) }
        }
    }

    private static func octal(_ mode: UInt32) -> String {
        let digits = String(mode, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
