import CPluginABI

/// A library whose entry returned a descriptor this host accepts.
///
/// The descriptor was checked: same ABI major, a minor no newer than the
/// host's, a size that covers the fields of its minor, an id, a version, and
/// the required `create` and `destroy`.
final class LoadedPlugin: @unchecked Sendable {
    // @unchecked Sendable: every stored property is immutable and the descriptor
    // is plugin-owned static data that lives as long as the library.

    /// The entry point it was loaded from.
    let entry: EntryPoint
    /// The opened library.
    let library: PluginLibrary
    /// The plugin's descriptor.
    let descriptor: UnsafePointer<ph_plugin_t>
    /// `descriptor.id`.
    let id: String
    /// `descriptor.version`.
    let version: String
    /// `descriptor.description`, or empty.
    let summary: String
    /// "MAJOR.MINOR" of the ABI the plugin was built against.
    let abi: String
    /// Whether the plugin declared PH_PLUGIN_THREAD_SAFE.
    let isThreadSafe: Bool

    init(entry: EntryPoint, library: PluginLibrary, descriptor: UnsafePointer<ph_plugin_t>) {
        self.entry = entry
        self.library = library
        self.descriptor = descriptor
        let d = descriptor.pointee
        self.id = String(cString: d.id)
        self.version = String(cString: d.version)
        self.summary = d.description.map { String(cString: $0) } ?? ""
        self.abi = "\(d.abi_major).\(d.abi_minor)"
        self.isThreadSafe = d.flags & UInt32(PH_PLUGIN_THREAD_SAFE) != 0
    }
}
