#if canImport(Glibc)
import Glibc
#endif
import CCrashJournal
import CIsolation

/// One `dlopen`ed shared library, shared by every alias a load pass finds in it.
///
/// Each user (a load pass, a prepared plugin, an instance) holds one use and
/// gives it back with ``release()``; the last release unloads a C library.
/// Libraries that need the Swift runtime are opened with `RTLD_NODELETE` and
/// are never closed: unloading a Swift image corrupts the runtime's
/// conformance caches (see docs/ARCHITECTURE.md, "Why Swift images are never unloaded").
final class PluginLibrary: @unchecked Sendable {
    // @unchecked Sendable: `path` and the hash never change; `users` and `handle`
    // change only on the control thread, and the last release comes after
    // nothing of the library runs any more.

    /// What giving back one use did.
    enum Release: Equatable {
        /// Another user still holds the library.
        case stillInUse
        /// The C library was `dlclose`d.
        case unloaded
        /// The last use is gone but the Swift image stays mapped.
        case keptMapped
    }

    /// The plugin's file (the image itself was loaded from a shadow copy of it).
    let path: String
    /// SHA-256 of the bytes that were loaded.
    let digest: LibraryDigest
    /// ``digest`` in hex.
    var contentHash: String { digest.hex }
    /// Whether the image links `libswiftCore` (and so stays mapped for ever).
    let needsSwiftRuntime: Bool
    private var handle: UnsafeMutableRawPointer?
    private var users = 1
    /// The sealed in-memory copy the image was loaded from (see ShadowCopy.descriptor):
    /// closed after `dlclose`, kept open for as long as a Swift image stays mapped.
    let shadowDescriptor: Int32?

    /// The image's entry in the crash journal's table of address ranges (-1 if it has none).
    private let crashIndex: Int32
    /// For an isolated plugin: its proxy and plugin process (the library is loaded there, not here).
    let isolated: OpaquePointer?

    init(path: String, digest: LibraryDigest, needsSwiftRuntime: Bool, handle: UnsafeMutableRawPointer?,
         shadowDescriptor: Int32?, crashIndex: Int32, isolated: OpaquePointer? = nil) {
        self.isolated = isolated
        self.crashIndex = crashIndex
        self.path = path
        self.digest = digest
        self.needsSwiftRuntime = needsSwiftRuntime
        self.handle = handle
        self.shadowDescriptor = shadowDescriptor
    }

    /// Checks `path`'s permissions, makes a shadow copy (sealed, in memory where
    /// possible), checks the copy's signature, `alias`'s pin and the ELF headers,
    /// then `dlopen`s it with `RTLD_NOW | RTLD_LOCAL` (plus `RTLD_NODELETE` for
    /// Swift images); a file copy is unlinked right after. No code of the library runs before every check passed,
    /// including the pins of the other aliases (`sharedWith`) that will use the same image.
    /// The image's address range is recorded for the crash journal under its aliases and `version`.
    static func open(path: String, alias: String?, policy: LoadPolicy, sharedWith others: [String] = [],
                     version: String = "") throws(PluginError) -> PluginLibrary {
        let (shadow, image) = try checkedCopy(path: path, alias: alias, policy: policy, sharedWith: others)
        defer { shadow.removeFile() }
        var keepDescriptor = false
        defer { if let descriptor = shadow.descriptor, !keepDescriptor { close(descriptor) } }
        var flags = RTLD_NOW | RTLD_LOCAL
        if image.needsSwiftRuntime { flags |= RTLD_NODELETE }
        _ = dlerror()
        guard let handle = dlopen(shadow.path, flags) else {
            let message = dlerror().map { String(cString: $0) } ?? "unknown dlopen error"
            throw PluginError(.loadFailed, file: path, alias: alias, reason: message.replacingAll(shadow.path, with: path))
        }
        keepDescriptor = true
        let aliases = ([alias].compactMap { $0 } + others).joined(separator: ",")
        let crashIndex = ph_crash_register(handle, aliases.isEmpty ? FileSystem.fileName(of: path) : aliases, version, shadow.digest.hex)
        return PluginLibrary(path: path, digest: shadow.digest, needsSwiftRuntime: image.needsSwiftRuntime, handle: handle,
                             shadowDescriptor: shadow.descriptor, crashIndex: crashIndex)
    }

    /// Checks `path`'s permissions, makes its shadow copy (sealed, in memory where possible;
    /// `inMemory` as ``ShadowCopy/make(of:stateDirectory:inMemory:)`` takes it, nil for its
    /// default), and checks the copy: its folder's permissions, its signature, the pins of
    /// `alias` and of the `others` that will use the same bytes, and its ELF headers. The bytes
    /// checked are the bytes that will be loaded, here or in a plugin process. On failure the
    /// copy is gone; on success the caller removes its file and closes its descriptor.
    static func checkedCopy(path: String, alias: String?, policy: LoadPolicy, sharedWith others: [String] = [],
                            inMemory: Bool? = nil) throws(PluginError) -> (ShadowCopy, ELFImage) {
        try policy.checkPermissions(path, alias: alias)
        let shadow: ShadowCopy
        do throws(FileSystem.Failure) {
            if let inMemory {
                shadow = try ShadowCopy.make(of: path, stateDirectory: policy.stateDirectory, inMemory: inMemory)
            } else {
                shadow = try ShadowCopy.make(of: path, stateDirectory: policy.stateDirectory)
            }
        } catch {
            throw PluginError(.loadFailed, file: path, alias: alias, reason: "cannot make a shadow copy: \(error.description)")
        }
        do throws(PluginError) {
            if let folder = shadow.folder { try policy.checkPermissions(folder, alias: alias) }
            try policy.checkSignature(file: path, digest: shadow.digest, alias: alias)
            for pinned in ([alias].compactMap { $0 } + others) {
                try policy.checkPin(alias: pinned, digest: shadow.digest, file: path)
            }
            do {
                return (shadow, try ELFImage.inspect(path: shadow.path))
            } catch {
                throw PluginError(.notASharedLibrary, file: path, alias: alias, reason: error.description)
            }
        } catch {
            shadow.removeFile()
            if let descriptor = shadow.descriptor { close(descriptor) }
            throw error
        }
    }

    /// The address of an exported symbol, or nil.
    /// Records the version the plugin's descriptor declares beside the manifest's, for the crash journal.
    func noteVersion(_ version: String) {
        ph_crash_set_plugin_version(crashIndex, version)
    }

    func symbol(_ name: String) -> UnsafeMutableRawPointer? {
        guard let handle else { return nil }
        return dlsym(handle, name)
    }

    /// Gives up on an instance whose `create` failed: its threads may still run, so a library
    /// loaded here stays mapped until shutdown (kept in `abandoned`); an isolated plugin's
    /// process ends now.
    func abandon(to abandoned: inout [PluginLibrary]) {
        if isolated != nil { release() } else { abandoned.append(self) }
    }

    /// Takes one more use of the library (given back with ``release()``).
    func share() -> PluginLibrary {
        precondition(users > 0, "share of a released library")
        users += 1
        return self
    }

    /// Gives back one use; the last one unloads a C library (a Swift image only forgets its handle).
    @discardableResult
    func release() -> Release {
        precondition(users > 0, "library released more often than shared")
        users -= 1
        if users == 0, let isolated {
            // Its plugin process ends; nothing was mapped here.
            ph_isolated_close(isolated)
            if let shadowDescriptor { close(shadowDescriptor) }
            return .unloaded
        }
        guard users == 0, let handle else { return .stillInUse }
        self.handle = nil
        // Its range stays known: a fault there now is code that outlived its plugin.
        ph_crash_retire(crashIndex)
        if needsSwiftRuntime { return .keptMapped }
        dlclose(handle)
        // Only now may its /proc/self/fd name be used again (see ShadowCopy.descriptor).
        if let shadowDescriptor { close(shadowDescriptor) }
        return .unloaded
    }
}

extension String {
    /// This string with every occurrence of `target` replaced by `replacement`.
    func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var result = ""
        var rest = self[...]
        while let range = rest.firstRange(of: target) {
            result += rest[..<range.lowerBound] + replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}
