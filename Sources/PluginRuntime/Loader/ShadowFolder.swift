#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// The private folder this process writes shadow copies into:
/// `plughost-shadow-<pid>` (mode 0700) under, in this order of preference,
/// `$PLUGHOST_SHADOW_DIR` (used as is), `[host] state-dir`, `$XDG_RUNTIME_DIR/plughost`,
/// or `$TMPDIR` (else `/tmp`).
///
/// - It is made again when it disappeared (temp cleaners such as
///   systemd-tmpfiles remove old folders in `/tmp` under a running host).
/// - It is removed when the process exits normally.
/// - Before making one, folders of this user's processes that no longer
///   exist are removed: a crashed host leaves its folder behind.
enum ShadowFolder {
    /// The prefix of every shadow folder's name.
    static let namePrefix = "plughost-shadow-"

    private static let made = Mutex<String?>(nil)

    /// The folder for this process, made (again) if missing.
    static func current(stateDirectory: String?) throws(FileSystem.Failure) -> String {
        let result: Result<String, FileSystem.Failure> = made.withLock { cached in
            if let configured = environment("PLUGHOST_SHADOW_DIR") {
                guard isPrivate(configured) else {
                    return .failure(FileSystem.Failure(description: "PLUGHOST_SHADOW_DIR \(configured) is not a private folder of this user (mode 0700)"))
                }
                return .success(configured)
            }
            let base = baseFolder(stateDirectory: stateDirectory)
            let folder = FileSystem.join(base, namePrefix + String(getpid()))
            // Checked on every use: a temp cleaner may have removed it and someone else put their own in its place.
            if cached == folder, isPrivate(folder) { return .success(folder) }
            do throws(FileSystem.Failure) {
                try FileSystem.makeDirectories(base, mode: 0o700)
                if cached == nil { removeStale(in: base) }
                if mkdir(folder, 0o700) != 0 && errno != EEXIST {
                    return .failure(FileSystem.Failure(description: "cannot create the shadow folder \(folder): \(FileSystem.errorText())"))
                }
                // In a shared folder such as /tmp another user could have made it first.
                guard isPrivate(folder) else {
                    return .failure(FileSystem.Failure(description: "the shadow folder \(folder) exists but is not a private folder of this user (mode 0700): remove it"))
                }
            } catch {
                return .failure(error)
            }
            registerRemovalAtExit(folder)
            cached = folder
            return .success(folder)
        }
        return try result.get()
    }

    /// Whether `folder` is a real folder (not a link) of this user that nobody else can enter.
    static func isPrivate(_ folder: String) -> Bool {
        var info = stat()
        return lstat(folder, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR && info.st_uid == geteuid() && info.st_mode & 0o077 == 0
    }

    /// Where shadow folders are made for `stateDirectory`.
    static func baseFolder(stateDirectory: String?) -> String {
        if let stateDirectory { return stateDirectory }
        if let runtime = environment("XDG_RUNTIME_DIR") { return FileSystem.join(runtime, "plughost") }
        return environment("TMPDIR") ?? "/tmp"
    }

    /// Removes the shadow folders in `base` of this user's processes that no longer run.
    static func removeStale(in base: String) {
        for name in (try? FileSystem.list(base)) ?? [] where name.hasPrefix(namePrefix) {
            let digits = name.dropFirst(namePrefix.count).prefix { $0.isNumber }
            guard let pid = pid_t(digits), pid != getpid() else { continue }
            let folder = FileSystem.join(base, name)
            var info = stat()
            guard lstat(folder, &info) == 0, info.st_mode & S_IFMT == S_IFDIR, info.st_uid == geteuid() else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { FileSystem.removeTree(folder) }
        }
    }

    private static func environment(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        let text = String(cString: value)
        return text.isEmpty ? nil : text
    }

    /// The folders `atexit` removes. Written under the `made` lock only; read once, at exit.
    nonisolated(unsafe) private static var foldersToRemove: [String] = []

    /// Called under the `made` lock.
    private static func registerRemovalAtExit(_ folder: String) {
        guard !foldersToRemove.contains(folder) else { return }
        if foldersToRemove.isEmpty {
            atexit {
                for folder in ShadowFolder.foldersToRemove { FileSystem.removeTree(folder) }
            }
        }
        foldersToRemove.append(folder)
    }
}
