#if canImport(Glibc)
import Glibc
#endif

/// One `dlopen`ed shared library.
///
/// Libraries that need the Swift runtime are opened with `RTLD_NODELETE` and
/// are never closed: unloading a Swift image corrupts the runtime's
/// conformance caches (see DESIGN.md). C libraries are closed by ``close()``.
final class PluginLibrary: @unchecked Sendable {
    // @unchecked Sendable: `handle` and `path` never change; `close()` is called
    // once, by the control thread, after nothing of the library runs any more.

    /// The plugin's file (the image itself was loaded from a shadow copy of it).
    let path: String
    /// SHA-256 of the file's content when it was loaded, in hex.
    let contentHash: String
    /// Whether the image links `libswiftCore` (and so stays mapped for ever).
    let needsSwiftRuntime: Bool
    private var handle: UnsafeMutableRawPointer?

    private init(path: String, contentHash: String, needsSwiftRuntime: Bool, handle: UnsafeMutableRawPointer) {
        self.path = path
        self.contentHash = contentHash
        self.needsSwiftRuntime = needsSwiftRuntime
        self.handle = handle
    }

    /// Copies `path` to a unique shadow path, checks the copy's ELF headers,
    /// `dlopen`s it with `RTLD_NOW | RTLD_LOCAL` (plus `RTLD_NODELETE` for Swift
    /// images) and unlinks it again.
    static func open(path: String, alias: String?) throws(PluginError) -> PluginLibrary {
        let shadow: ShadowCopy
        do {
            shadow = try ShadowCopy.make(of: path)
        } catch {
            throw PluginError(.loadFailed, file: path, alias: alias, reason: "cannot make a shadow copy: \(error.description)")
        }
        defer { shadow.remove() }
        let image: ELFImage
        do {
            image = try ELFImage.inspect(path: shadow.path)
        } catch {
            throw PluginError(.notASharedLibrary, file: path, alias: alias, reason: error.description)
        }
        var flags = RTLD_NOW | RTLD_LOCAL
        if image.needsSwiftRuntime { flags |= RTLD_NODELETE }
        _ = dlerror()
        guard let handle = dlopen(shadow.path, flags) else {
            let message = dlerror().map { String(cString: $0) } ?? "unknown dlopen error"
            throw PluginError(.loadFailed, file: path, alias: alias, reason: message.replacingAll(shadow.path, with: path))
        }
        return PluginLibrary(path: path, contentHash: shadow.contentHash, needsSwiftRuntime: image.needsSwiftRuntime, handle: handle)
    }

    /// The address of an exported symbol, or nil.
    func symbol(_ name: String) -> UnsafeMutableRawPointer? {
        guard let handle else { return nil }
        return dlsym(handle, name)
    }

    /// Unloads a C library; a Swift library stays mapped (its handle is only forgotten).
    /// - Returns: Whether the image was really closed.
    @discardableResult
    func close() -> Bool {
        guard let handle else { return false }
        self.handle = nil
        if needsSwiftRuntime { return false }
        dlclose(handle)
        return true
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
