#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The few file-system calls the runtime needs, on top of libc.
enum FileSystem {
    /// A failed system call, with errno's text.
    struct Failure: Error, CustomStringConvertible {
        /// What failed and why.
        let description: String
    }

    /// What a path names.
    enum Kind: Equatable {
        case missing, file, directory, other
    }

    /// The kind of `path`, following symlinks.
    static func kind(of path: String) -> Kind {
        if let overlay = FileOverlay.current {
            if overlay.files[path] != nil { return .file }
            if overlay.directories.contains(path) { return .directory }
        }
        var info = stat()
        guard stat(path, &info) == 0 else { return .missing }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return .file
        case S_IFDIR: return .directory
        default: return .other
        }
    }

    /// The whole content of the file at `path`: read straight into an array of the
    /// size `fstat` gives (plus one byte, to see the end in the same read), and
    /// on in chunks if the file turns out longer.
    static func readFile(_ path: String) throws(Failure) -> [UInt8] {
        if let overlay = FileOverlay.current, let bytes = overlay.files[path] {
            if path.hasSuffix(".toml") { TOMLReadRecorder.current?.note(path, bytes) }
            return bytes
        }
        let bytes = try readFileFromDisk(path)
        if path.hasSuffix(".toml") { TOMLReadRecorder.current?.note(path, bytes) }
        return bytes
    }

    private static func readFileFromDisk(_ path: String) throws(Failure) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(description: errorText()) }
        defer { close(fd) }
        var info = stat()
        let expected = fstat(fd, &info) == 0 ? max(Int(info.st_size), 0) : 0
        let capacity = expected + 1
        var failure: Failure?
        var bytes = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, count in
            count = 0
            while count < capacity {
                let got = Glibc.read(fd, buffer.baseAddress! + count, capacity - count)
                if got < 0 {
                    if errno == EINTR { continue }
                    failure = Failure(description: errorText())
                    return
                }
                if got == 0 { return }
                count += got
            }
        }
        if let failure { throw failure }
        guard bytes.count == capacity else { return bytes }
        // Longer than fstat said (it grew while read): the rest in chunks.
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw Failure(description: errorText())
            }
            if count == 0 { return bytes }
            chunk.withUnsafeBufferPointer { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: $0[0..<count])) }
        }
    }

    /// Where `d_name` starts in a `dirent`.
    private static let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!

    /// The names in directory `path`, sorted, without `.` and `..`.
    static func list(_ path: String) throws(Failure) -> [String] {
        if let overlay = FileOverlay.current, overlay.directories.contains(path) {
            return overlay.list(path)
        }
        guard let dir = opendir(path) else { throw Failure(description: errorText()) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            // Read the name in place, up to its NUL: a record is only as long as its
            // name (d_reclen), so copying the whole 256-byte d_name field can read
            // past the end of readdir's buffer (AddressSanitizer caught it in /tmp).
            let name = String(cString: (UnsafeRawPointer(entry) + nameOffset).assumingMemoryBound(to: CChar.self))
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// The canonical absolute path of `path` (symlinks resolved), or nil if it does not exist.
    static func realPath(_ path: String) -> String? {
        if let overlay = FileOverlay.current, let canonical = overlay.canonical[path] {
            return canonical
        }
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// Whether `path` is itself a symbolic link.
    static func isSymlink(_ path: String) -> Bool {
        if FileOverlay.holds(path) { return false }
        var info = stat()
        return lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFLNK
    }

    /// The directory part of `path` (`.` when there is none).
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// The last component of `path`.
    static func fileName(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    /// Creates `path` (which must not exist) with `bytes` and permission `mode`.
    static func writeFile(_ path: String, _ bytes: [UInt8], mode: mode_t) throws(Failure) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw Failure(description: "cannot create \(path): \(errorText())") }
        defer { close(fd) }
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, $0.count - written) }
            if count < 0 {
                if errno == EINTR { continue }
                let reason = errorText()
                unlink(path)
                throw Failure(description: "cannot write \(path): \(reason)")
            }
            written += count
        }
    }

    /// Makes `path` and any missing parents with `mode` (existing folders are left as they are).
    static func makeDirectories(_ path: String, mode: mode_t) throws(Failure) {
        guard kind(of: path) != .directory else { return }
        let parent = directory(of: path)
        if parent != path && parent != "." { try makeDirectories(parent, mode: mode) }
        if mkdir(path, mode) != 0 && errno != EEXIST {
            throw Failure(description: "cannot create \(path): \(errorText())")
        }
    }

    /// Removes the folder `path` and the files directly in it (shadow folders hold no subfolders),
    /// without following symbolic links.
    static func removeTree(_ path: String) {
        for name in (try? list(path)) ?? [] {
            let child = join(path, name)
            var info = stat()
            if lstat(child, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR {
                removeTree(child)
            } else {
                unlink(child)
            }
        }
        rmdir(path)
    }

    /// `name` joined to `directory`.
    static func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    /// The text of the current errno.
    static func errorText() -> String {
        String(cString: strerror(errno))
    }
}
