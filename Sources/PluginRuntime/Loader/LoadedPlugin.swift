import CPluginABI
import CCallRecord

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
    /// This build's index in the in-flight record of calls (see ``CallRecord``).
    let callRecord: UInt32
    /// Whether the plugin declared PH_PLUGIN_THREAD_SAFE.
    let isThreadSafe: Bool
    /// The plugin set `PH_PLUGIN_NEVER_BLOCKS`: its request work may run inline.
    let neverBlocks: Bool
    /// `save_state`, when the descriptor is 1.1 or newer and sets it.
    let saveState: (@convention(c) (UnsafeMutableRawPointer?, ph_state_write_fn?, UnsafeMutableRawPointer?, UnsafeMutablePointer<ph_message_t>?) -> ph_status_t)?
    /// `restore_state`, when the descriptor is 1.1 or newer and sets it.
    let restoreState: (@convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?, UnsafeRawPointer?, Int, UnsafeMutablePointer<ph_message_t>?) -> ph_status_t)?

    init(entry: EntryPoint, library: PluginLibrary, descriptor: UnsafePointer<ph_plugin_t>, callRecord: UInt32) {
        self.entry = entry
        self.library = library
        self.descriptor = descriptor
        // Field by field: a copy of the whole struct would read past a 1.0 descriptor.
        let d = descriptor
        self.id = String(cString: d.pointee.id)
        self.version = String(cString: d.pointee.version)
        self.summary = d.pointee.description.map { String(cString: $0) } ?? ""
        self.abi = "\(d.pointee.abi_major).\(d.pointee.abi_minor)"
        self.isThreadSafe = d.pointee.flags & UInt32(PH_PLUGIN_THREAD_SAFE) != 0
        self.neverBlocks = d.pointee.flags & UInt32(PH_PLUGIN_NEVER_BLOCKS) != 0
        // Members past the plugin's struct_size do not exist for it: never read them.
        let hasStateHandoff = d.pointee.abi_minor >= 1 && Int(d.pointee.struct_size) >= LoadedPlugin.size1_1
        self.saveState = hasStateHandoff ? d.pointee.save_state : nil
        self.restoreState = hasStateHandoff ? d.pointee.restore_state : nil
        self.callRecord = callRecord
        CallRecord.noteVersion(version, of: callRecord)
        library.noteVersion(version)
    }

    /// `PH_PLUGIN_SIZE_1_1`.
    static let size1_1 = MemoryLayout<ph_plugin_t>.offset(of: \ph_plugin_t.restore_state)! + MemoryLayout<UnsafeRawPointer>.size

    /// The SHA-256 of the library file as it was loaded, in hex.
    var contentHash: String { library.contentHash }
}
