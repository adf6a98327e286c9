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

    /// The file that was opened.
    let path: String
    /// Whether the image links `libswiftCore` (and so stays mapped for ever).
    let needsSwiftRuntime: Bool
    private var handle: UnsafeMutableRawPointer?

    private init(path: String, needsSwiftRuntime: Bool, handle: UnsafeMutableRawPointer) {
        self.path = path
        self.needsSwiftRuntime = needsSwiftRuntime
        self.handle = handle
    }

    /// Checks the ELF headers of `path`, then `dlopen`s it with `RTLD_NOW | RTLD_LOCAL`
    /// (plus `RTLD_NODELETE` for Swift images).
    static func open(path: String, alias: String?) throws(PluginError) -> PluginLibrary {
        let image: ELFImage
        do {
            image = try ELFImage.inspect(path: path)
        } catch {
            throw PluginError(.notASharedLibrary, file: path, alias: alias, reason: error.description)
        }
        var flags = RTLD_NOW | RTLD_LOCAL
        if image.needsSwiftRuntime { flags |= RTLD_NODELETE }
        _ = dlerror()
        guard let handle = dlopen(path, flags) else {
            let message = dlerror().map { String(cString: $0) } ?? "unknown dlopen error"
            throw PluginError(.loadFailed, file: path, alias: alias, reason: message)
        }
        return PluginLibrary(path: path, needsSwiftRuntime: image.needsSwiftRuntime, handle: handle)
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
