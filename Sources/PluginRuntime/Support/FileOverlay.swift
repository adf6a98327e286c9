import Synchronization

/// The files a committed generation was built from (host config, manifests,
/// libraries), laid over the disk while a replacement worker starts, so it
/// starts from the last committed generation, not from whatever the folder
/// holds now (a new build that crashed a reload round, say).
///
/// While installed, every read the runtime makes through ``FileSystem`` of a
/// path the overlay holds gets its bytes, and listing a folder under its roots
/// lists what it holds (so manifests added since are not seen); a file it does
/// not hold (the library of a plugin that did not run: failed, quarantined) is
/// read from disk. Permission checks pass for what it holds (the bytes were
/// checked when they were committed). Nothing else changes. It is
/// installed for a start only (``PluginRuntime/start(strict:)``, while the overlay is installed); reloads read the disk.
public struct FileOverlay: Sendable {
    /// The files by path, as the runtime named them when it read them (and by canonical path).
    var files: [String: [UInt8]] = [:]
    /// Every folder above a file, under a root.
    var directories: Set<String> = []
    /// Folders whose contents the overlay replaces: what it does not hold there is missing.
    var roots: [String] = []
    /// Canonical paths, for `realpath`.
    var canonical: [String: String] = [:]

    /// An empty overlay over `roots` (the plugins folder, as given and canonical).
    public init(roots: [String]) {
        self.roots = roots.map { $0.hasSuffix("/") && $0.count > 1 ? String($0.dropLast()) : $0 }
        for root in self.roots { directories.insert(root) }
    }

    /// Adds a file read at `path` (canonically `canonicalPath`) with `bytes`.
    public mutating func add(path: String, canonicalPath: String?, bytes: [UInt8]) {
        for name in [path] + (canonicalPath.map { [$0] } ?? []) {
            files[name] = bytes
            canonical[name] = canonicalPath ?? name
            var folder = FileSystem.directory(of: name)
            while roots.contains(where: { folder == $0 || folder.hasPrefix($0 + "/") }) && !directories.contains(folder) {
                directories.insert(folder)
                folder = FileSystem.directory(of: folder)
            }
        }
    }

    /// How many files it holds (each counted once).
    public var count: Int { Set(canonical.values).count }

    /// The names directly inside `folder`, sorted.
    func list(_ folder: String) -> [String] {
        let prefix = folder.hasSuffix("/") ? folder : folder + "/"
        var names = Set<String>()
        for path in Array(files.keys) + Array(directories) where path.hasPrefix(prefix) {
            let rest = path.dropFirst(prefix.count)
            if let name = rest.split(separator: "/").first { names.insert(String(name)) }
        }
        return names.sorted()
    }

    /// The overlay in force in this process, if any.
    static let installed = Mutex<FileOverlay?>(nil)

    /// Lays `overlay` over the disk for this process (nil removes it). Install it
    /// before the host config is read and remove it once the runtime started.
    public static func install(_ overlay: FileOverlay?) {
        installed.withLock { $0 = overlay }
    }

    /// The overlay in force, if any (one load of a lock-protected optional: reads are rare).
    static var current: FileOverlay? { installed.withLock { $0 } }

    /// Whether `path` is one the overlay answers for.
    static func holds(_ path: String) -> Bool {
        guard let overlay = current else { return false }
        return overlay.files[path] != nil || overlay.directories.contains(path)
    }
}

/// The `.toml` files (host config, manifests) a start or reload read, by path:
/// with the loaded libraries, what a committed generation was built from.
/// Scoped to the start or reload that asked (a task-local value, on its own
/// thread): two runtimes in one process, or an unrelated read at the same
/// time, never land in each other's record.
final class TOMLReadRecorder: Sendable {
    private let recorded = Mutex<[String: [UInt8]]>([:])

    /// The recorder of the start or reload running here, if any.
    @TaskLocal static var current: TOMLReadRecorder?

    /// Runs `body`, recording the `.toml` files it reads.
    /// - Returns: What `body` returned, and the files it read.
    static func recording<T>(_ body: () -> T) -> (T, [String: [UInt8]]) {
        let recorder = TOMLReadRecorder()
        let result = $current.withValue(recorder) { body() }
        return (result, recorder.recorded.withLock { $0 })
    }

    /// Notes `bytes` read from `path`.
    func note(_ path: String, _ bytes: [UInt8]) {
        recorded.withLock { $0[path] = bytes }
    }
}
