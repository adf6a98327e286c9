import CPluginABI
import CIsolation

/// Opens a plugin library and negotiates its ABI, touching nothing of the
/// plugin but its entry function until the descriptor's version is known good.
enum PluginLoader {
    /// `PH_PLUGIN_SIZE_1_0`.
    static let size1_0 = MemoryLayout<ph_plugin_t>.offset(of: \ph_plugin_t.get_extension)! + MemoryLayout<UnsafeRawPointer>.size

    /// The ABI this host speaks, "MAJOR.MINOR".
    static let hostABI = "\(PH_ABI_MAJOR).\(PH_ABI_MINOR)"

    /// Loads `entry` in `pass`: ELF check, `dlopen` (or the pass's image of the same
    /// library), entry lookup, ABI check, required members. The result holds one use
    /// of the library; on failure that use is given back.
    static func load(_ entry: EntryPoint, in pass: LibraryPass) throws(PluginError) -> LoadedPlugin {
        if let settings = pass.policy.isolation[entry.alias], settings.mode == .process {
            return try loadIsolated(entry, settings: settings, policy: pass.policy)
        }
        let library = try pass.open(path: entry.libraryPath, alias: entry.alias)
        do {
            let (descriptor, record) = try negotiate(library: library, entry: entry)
            return LoadedPlugin(entry: entry, library: library, descriptor: descriptor, callRecord: record)
        } catch {
            library.release()
            throw error
        }
    }

    /// Loads `entry` in a plugin process of its own: the process checks the descriptor as
    /// ``negotiate(library:entry:)`` does, and the runtime gets the proxy's descriptor.
    private static func loadIsolated(_ entry: EntryPoint, settings: IsolationSettings, policy: LoadPolicy) throws(PluginError) -> LoadedPlugin {
        let library = try IsolatedLibrary.open(entry, settings: settings, policy: policy)
        let descriptor = ph_isolated_descriptor(library.isolated)!
        let record = CallRecord.register(alias: entry.alias, manifestVersion: entry.packageVersion, pluginVersion: "",
                                         sha256: library.contentHash)
        return LoadedPlugin(entry: entry, library: library, descriptor: descriptor, callRecord: record)
    }

    /// Calls the entry and checks the descriptor it returns.
    /// - Returns: The descriptor, and the build's index in the in-flight record (its plugin version set later).
    private static func negotiate(library: PluginLibrary, entry: EntryPoint) throws(PluginError)
        -> (UnsafePointer<ph_plugin_t>, UInt32) {
        func fail(_ code: PluginError.Code, _ reason: String) -> PluginError {
            PluginError(code, file: entry.libraryPath, alias: entry.alias, reason: reason)
        }
        guard let address = library.symbol(entry.symbol) else {
            throw fail(.entryNotFound, "library exports no symbol '\(entry.symbol)' (is it a plugin, and is the entry PH_EXPORT?)")
        }
        let entryFunction = unsafeBitCast(address, to: ph_entry_fn.self)
        let record = CallRecord.register(alias: entry.alias, manifestVersion: entry.packageVersion, pluginVersion: "",
                                         sha256: library.contentHash)
        guard let descriptor = CallRecord.timed(.entry, record, logger: nil, { entryFunction(PH_ABI_MAJOR, PH_ABI_MINOR) }) else {
            throw fail(.entryReturnedNull, "entry '\(entry.symbol)' returned NULL for host ABI \(hostABI) (the entry refused this host: return the descriptor whenever host_abi_major == PH_ABI_MAJOR)")
        }
        // The major comes first in every version of the descriptor: read it alone.
        let major = UnsafeRawPointer(descriptor).load(as: UInt32.self)
        guard major == PH_ABI_MAJOR else {
            throw fail(.abiMismatch, "expected ABI \(PH_ABI_MAJOR).x, found \(major).x (rebuild the plugin against this host's PluginSDK)")
        }
        let minor = descriptor.pointee.abi_minor
        guard minor <= PH_ABI_MINOR else {
            throw fail(.abiMismatch, "plugin needs ABI \(major).\(minor), host speaks \(hostABI) (upgrade the host, or build the plugin with an SDK whose PH_ABI_MINOR is at most \(PH_ABI_MINOR))")
        }
        let size = Int(descriptor.pointee.struct_size)
        let needed = minor >= 1 ? LoadedPlugin.size1_1 : size1_0
        guard size >= needed else {
            throw fail(.invalidDescriptor, "descriptor size \(size) is smaller than an ABI \(major).\(minor) descriptor (\(needed) bytes): set struct_size = sizeof(ph_plugin_t) and rebuild")
        }
        // Field by field: copying the whole struct would read past an older, smaller descriptor.
        var missing: [String] = []
        if descriptor.pointee.id == nil { missing.append("id") }
        if descriptor.pointee.version == nil { missing.append("version") }
        if descriptor.pointee.create == nil { missing.append("create") }
        if descriptor.pointee.destroy == nil { missing.append("destroy") }
        guard missing.isEmpty else {
            throw fail(.invalidDescriptor, "descriptor lacks required member(s): \(missing.joined(separator: ", ")) (set them in the ph_plugin_t your entry returns)")
        }
        return (descriptor, record)
    }
}
