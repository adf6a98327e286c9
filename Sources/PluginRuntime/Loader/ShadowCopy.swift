#if canImport(Glibc)
import Glibc
#endif
import Crypto
import Synchronization

/// A private copy of a plugin library, made before `dlopen` and unlinked right
/// after it (see DESIGN.md).
///
/// `dlopen` of a path that is already loaded returns the old image, and a
/// library rewritten in place while mapped crashes the process. Loading a
/// copy under a name never used before in this process gives each build its
/// own image, and leaves the plugin author's file free to be replaced. The
/// bytes are read once: the copy and the content hash describe the same file.
struct ShadowCopy {
    /// Where the copy was written.
    let path: String
    /// SHA-256 of the content, in hex.
    let contentHash: String

    /// Copies `source` into the shadow folder.
    static func make(of source: String) throws(FileSystem.Failure) -> ShadowCopy {
        let identity = FileIdentity(path: source)
        let bytes = try FileSystem.readFile(source)
        let folder = try shadowFolder()
        let serial = counter.add(1, ordering: .relaxed).newValue
        let name = FileSystem.fileName(of: source)
        let path = FileSystem.join(folder, "\(getpid())-\(serial)-\(name)")
        try FileSystem.writeFile(path, bytes, mode: 0o500)
        let contentHash = hash(bytes)
        // Only if the file did not change while it was read.
        if let identity, FileIdentity(path: source) == identity { hashes.withLock { $0[source] = (identity, contentHash) } }
        return ShadowCopy(path: path, contentHash: contentHash)
    }

    /// The content hash of the file at `path`, without copying it. A file whose
    /// device, inode, size and modification time (ns) are those of the last
    /// hash or copy is not read again: a reload checks every library.
    static func contentHash(of path: String) throws(FileSystem.Failure) -> String {
        let identity = FileIdentity(path: path)
        if let identity, let known = hashes.withLock({ $0[path] }), known.identity == identity { return known.hash }
        let hash = hash(try FileSystem.readFile(path))
        if let identity { hashes.withLock { $0[path] = (identity, hash) } }
        return hash
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

    /// The last hash of each file, with the identity it had then.
    private static let hashes = Mutex<[String: (identity: FileIdentity, hash: String)]>([:])

    /// Removes the copy (the mapping made by `dlopen` keeps its pages).
    func remove() {
        unlink(path)
    }

    private static func hash(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { hexDigits[Int($0 >> 4)] + hexDigits[Int($0 & 0xF)] }.joined()
    }

    private static let hexDigits = (0..<16).map { String($0, radix: 16) }
    private static let counter = Atomic<Int>(0)
    private static let folder = Mutex<String?>(nil)

    /// `$PLUGHOST_SHADOW_DIR`, else a folder made once per process under `$TMPDIR` (or `/tmp`).
    private static func shadowFolder() throws(FileSystem.Failure) -> String {
        let result: Result<String, FileSystem.Failure> = folder.withLock { cached in
            if let cached { return .success(cached) }
            if let configured = getenv("PLUGHOST_SHADOW_DIR").map({ String(cString: $0) }), !configured.isEmpty {
                cached = configured
                return .success(configured)
            }
            let base = getenv("TMPDIR").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
            var template = Array(FileSystem.join(base, "plughost-shadow-XXXXXX").utf8CString)
            guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!).map { String(cString: $0) } }) else {
                return .failure(FileSystem.Failure(description: "cannot create a shadow folder in \(base): \(FileSystem.errorText())"))
            }
            cached = made
            return .success(made)
        }
        return try result.get()
    }
}
