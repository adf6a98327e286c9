#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A private copy of a plugin library, made before `dlopen` and unlinked right
/// after it (see docs/ARCHITECTURE.md, "Why shadow copies").
///
/// `dlopen` of a path that is already loaded returns the old image, and a
/// library rewritten in place while mapped crashes the process. Loading a
/// copy under a name never used before in this process gives each build its
/// own image, and leaves the plugin author's file free to be replaced. The
/// bytes are read once: the copy, the digest that pins and signatures are
/// checked against, and the image `dlopen` maps are the same bytes.
struct ShadowCopy {
    /// Where the copy was written.
    let path: String
    /// SHA-256 of the content.
    let digest: LibraryDigest

    /// Copies `source` into the shadow folder (see ``ShadowFolder``) for `stateDirectory`.
    static func make(of source: String, stateDirectory: String?) throws(FileSystem.Failure) -> ShadowCopy {
        let identity = FileIdentity(path: source)
        let bytes = try FileSystem.readFile(source)
        let folder = try ShadowFolder.current(stateDirectory: stateDirectory)
        let serial = counter.add(1, ordering: .relaxed).newValue
        let path = FileSystem.join(folder, "\(serial)-\(FileSystem.fileName(of: source))")
        try FileSystem.writeFile(path, bytes, mode: 0o500)
        let digest = LibraryDigest(of: bytes)
        // Only if the file did not change while it was read.
        if let identity, FileIdentity(path: source) == identity { digests.withLock { $0[source] = (identity, digest) } }
        return ShadowCopy(path: path, digest: digest)
    }

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

    /// Removes the copy (the mapping made by `dlopen` keeps its pages).
    func remove() {
        unlink(path)
    }

    private static let counter = Atomic<Int>(0)
}
