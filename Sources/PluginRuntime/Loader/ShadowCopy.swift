#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import CMemoryFile

/// A private copy of a plugin library, made before `dlopen` (see
/// docs/ARCHITECTURE.md, "Why shadow copies").
///
/// `dlopen` of a path that is already loaded returns the old image, and a
/// library rewritten in place while mapped crashes the process. Loading a
/// copy under a name never used before in this process gives each build its
/// own image, and leaves the plugin author's file free to be replaced. The
/// bytes are read once: the copy, the digest that pins and signatures are
/// checked against, and the image `dlopen` maps are the same bytes.
///
/// The copy is an in-memory file (`memfd_create`), sealed against writes
/// before it is checked and opened as `/proc/self/fd/N`: no disk I/O, no
/// folder, nothing left behind by a crash. Where that is unavailable, or when
/// the environment asks for files (`PLUGHOST_SHADOW_COPIES=files` or
/// `PLUGHOST_SHADOW_DIR`), it is a file in the private ``ShadowFolder``,
/// unlinked right after `dlopen`.
struct ShadowCopy {
    /// Where `dlopen` finds the copy.
    let path: String
    /// SHA-256 of the content.
    let digest: LibraryDigest
    /// The sealed in-memory file behind `path`, for an in-memory copy. It stays
    /// open while the image is loaded: glibc finds an already-loaded library by
    /// its name before anything else, and a closed descriptor's number, so its
    /// `/proc/self/fd` path, is soon used again. ``PluginLibrary`` closes it after `dlclose`.
    let descriptor: Int32?

    /// Copies `source` into memory, or into the shadow folder (see ``ShadowFolder``) for `stateDirectory`.
    /// `inMemory: false` makes a file copy whatever the environment says.
    static func make(of source: String, stateDirectory: String?, inMemory: Bool = !filesRequested) throws(FileSystem.Failure) -> ShadowCopy {
        let identity = FileIdentity(path: source)
        let bytes = try FileSystem.readFile(source)
        let digest = LibraryDigest(of: bytes)
        let name = FileSystem.fileName(of: source)
        let copy: ShadowCopy
        if inMemory, let memory = try memoryCopy(bytes, name: name, digest: digest) {
            copy = memory
        } else {
            copy = try inFolder(bytes, name: name, digest: digest, stateDirectory: stateDirectory)
        }
        // Only if the file did not change while it was read.
        if let identity, FileIdentity(path: source) == identity { digests.withLock { $0[source] = (identity, digest) } }
        return copy
    }

    /// A sealed in-memory copy, or nil when this system cannot make one.
    private static func memoryCopy(_ bytes: [UInt8], name: String, digest: LibraryDigest) throws(FileSystem.Failure) -> ShadowCopy? {
        guard access("/proc/self/fd", X_OK) == 0 else { return nil }
        let descriptor = ph_memfd_create("plughost:" + name)
        guard descriptor >= 0 else {
            if errno == ENOSYS || errno == EINVAL || errno == EPERM { return nil }
            throw FileSystem.Failure(description: "cannot create an in-memory copy: \(FileSystem.errorText())")
        }
        let written = bytes.withUnsafeBytes { ph_write_all(descriptor, $0.baseAddress, $0.count) }
        guard written == 0, ph_memfd_seal(descriptor) == 0 else {
            let reason = FileSystem.errorText()
            close(descriptor)
            throw FileSystem.Failure(description: "cannot write the in-memory copy: \(reason)")
        }
        return ShadowCopy(path: "/proc/self/fd/\(descriptor)", digest: digest, descriptor: descriptor)
    }

    /// Whether the environment asks for file copies: `PLUGHOST_SHADOW_COPIES=files`,
    /// or a `PLUGHOST_SHADOW_DIR` to write them into.
    static var filesRequested: Bool {
        getenv("PLUGHOST_SHADOW_DIR") != nil || getenv("PLUGHOST_SHADOW_COPIES").map { String(cString: $0) == "files" } == true
    }

    /// A copy in the private shadow folder, mode 0500.
    private static func inFolder(_ bytes: [UInt8], name: String, digest: LibraryDigest,
                                 stateDirectory: String?) throws(FileSystem.Failure) -> ShadowCopy {
        let folder = try ShadowFolder.current(stateDirectory: stateDirectory)
        let serial = counter.add(1, ordering: .relaxed).newValue
        let path = FileSystem.join(folder, "\(serial)-\(name)")
        try FileSystem.writeFile(path, bytes, mode: 0o500)
        return ShadowCopy(path: path, digest: digest, descriptor: nil)
    }

    /// The folder the copy lies in, to check its permissions (nil for an in-memory copy).
    var folder: String? { descriptor == nil ? FileSystem.directory(of: path) : nil }

    /// The digest of the file at `path`, without copying it. A file whose
    /// device, inode, size and modification time (ns) are those of the last
    /// digest or copy is not read again: a reload checks every library.
    static func digest(of path: String) throws(FileSystem.Failure) -> LibraryDigest {
        let identity = FileIdentity(path: path)
        if let identity, let known = digests.withLock({ $0[path] }), known.identity == identity { return known.digest }
        let digest = LibraryDigest(of: try FileSystem.readFile(path))
        if let identity { digests.withLock { $0[path] = (identity, digest) } }
        return digest
    }

    /// What `stat` says about a file, enough to tell it was replaced or rewritten.
    private struct FileIdentity: Equatable {
        let device: UInt64
        let inode: UInt64
        let size: Int64
        let modified: Int64

        init?(path: String) {
            // Committed bytes laid over the disk are not the file on disk: never cached as its digest.
            if FileOverlay.holds(path) { return nil }
            var info = stat()
            guard stat(path, &info) == 0 else { return nil }
            device = UInt64(info.st_dev)
            inode = UInt64(info.st_ino)
            size = Int64(info.st_size)
            modified = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        }
    }

    /// The last digest of each file, with the identity it had then.
    private static let digests = Mutex<[String: (identity: FileIdentity, digest: LibraryDigest)]>([:])

    /// Removes a file copy once `dlopen` mapped it (the mapping keeps its pages).
    /// An in-memory copy stays: see ``descriptor``.
    func removeFile() {
        if descriptor == nil { unlink(path) }
    }

    private static let counter = Atomic<Int>(0)
}
