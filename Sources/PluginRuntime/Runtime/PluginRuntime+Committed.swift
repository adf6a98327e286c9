import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// What the generation serving now was built from, as bytes: its host config,
/// the manifests its scan read and its plugins' libraries. A supervisor keeps
/// them so that a replacement worker starts from the last committed generation
/// (``FileOverlay``), whatever the plugins folder holds by then.
public struct CommittedSources: Sendable {
    /// One file.
    public struct File: Sendable {
        /// The path as the runtime named it.
        public var path: String
        /// Its canonical path, when it differs.
        public var canonicalPath: String?
        /// Its bytes.
        public var bytes: [UInt8]
        /// A library's SHA-256 (hex), checked again when the bytes are read back; nil for text files.
        public var sha256: String?
        /// The aliases a library serves.
        public var aliases: [String]
    }

    /// The plugins folder, as given and canonical.
    public var roots: [String]
    /// The host config, the manifests and the libraries.
    public var files: [File]
}

extension PluginRuntime {
    /// The files the generation serving now was built from (nil when nothing serves).
    /// Libraries copied to files instead of sealed in-memory files
    /// (`PLUGHOST_SHADOW_COPIES=files`) are left out: a start reads those from disk.
    public func committedSources() -> CommittedSources? {
        guard let generation = generation else { return nil }
        let (config, manifests) = published.withLock { ($0.config, $0.committedManifests) }
        var files: [CommittedSources.File] = []
        if let path = config.path, let bytes = config.sourceBytes {
            files.append(.init(path: path, canonicalPath: FileSystem.realPath(path), bytes: bytes, sha256: nil, aliases: []))
        }
        for (path, bytes) in manifests.sorted(by: { $0.key < $1.key }) where path != config.path {
            files.append(.init(path: path, canonicalPath: FileSystem.realPath(path), bytes: bytes, sha256: nil, aliases: []))
        }
        var libraries: [String: CommittedSources.File] = [:]
        for instance in generation.instances {
            let library = instance.loaded.library
            if libraries[library.path] != nil {
                libraries[library.path]!.aliases.append(instance.alias)
                continue
            }
            guard let bytes = library.shadowBytes() else { continue }
            libraries[library.path] = .init(path: library.path, canonicalPath: FileSystem.realPath(library.path), bytes: bytes,
                                            sha256: library.contentHash, aliases: [instance.alias])
        }
        files += libraries.values.sorted { $0.path < $1.path }
        var roots = [pluginsDirectory]
        if let canonical = FileSystem.realPath(pluginsDirectory), canonical != pluginsDirectory { roots.append(canonical) }
        return CommittedSources(roots: roots, files: files)
    }
}

extension PluginLibrary {
    /// The bytes of the sealed in-memory copy `dlopen` mapped, or nil for a file copy.
    func shadowBytes() -> [UInt8]? {
        guard let descriptor = shadowDescriptor else { return nil }
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_size > 0 else { return nil }
        let size = Int(info.st_size)
        var bytes = [UInt8](repeating: 0, count: size)
        var done = 0
        while done < size {
            let count = bytes.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress! + done, size - done, off_t(done)) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return nil }
            done += count
        }
        return bytes
    }
}
