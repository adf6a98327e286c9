import CPluginABI
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Returns the C descriptor of `type`: call it from the plugin's `@_cdecl` entry.
///
/// One descriptor is built per plugin type and kept for the life of the
/// image. Returns nil when the host speaks another ABI major, so the host
/// reports the mismatch without running anything else of the plugin.
public func exportPlugin<P: Plugin>(_ type: P.Type, hostABIMajor: UInt32) -> UnsafeRawPointer? {
    guard hostABIMajor == PH_ABI_MAJOR else { return nil }
    return descriptors.withLock { table in
        let key = ObjectIdentifier(type)
        if let existing = table[key] { return UnsafeRawPointer(existing) }
        let descriptor = makeDescriptor(PluginTypeBox(type))
        table[key] = descriptor
        return UnsafeRawPointer(descriptor)
    }
}

/// Built descriptors by plugin type; never freed (Swift images are never unloaded).
private let descriptors = Mutex<[ObjectIdentifier: UnsafeMutablePointer<ph_plugin_t>]>([:])

/// The type-erased plugin type a descriptor's `plugin_data` points to.
private final class PluginTypeBox: @unchecked Sendable {
    // @unchecked Sendable: immutable after init.
    let info: PluginInfo
    let validate: (PluginConfig) throws -> Void
    let make: (PluginHost) throws -> any Plugin

    init<P: Plugin>(_ type: P.Type) {
        info = P.info
        validate = { try P.validate(config: $0) }
        make = { try P(host: $0) }
    }
}

/// One live instance: the plugin object and the host wrapper that keeps its handlers alive.
private final class InstanceBox {
    let plugin: any Plugin
    let host: PluginHost
    init(plugin: any Plugin, host: PluginHost) {
        self.plugin = plugin
        self.host = host
    }
}

private func makeDescriptor(_ box: PluginTypeBox) -> UnsafeMutablePointer<ph_plugin_t> {
    let descriptor = UnsafeMutablePointer<ph_plugin_t>.allocate(capacity: 1)
    descriptor.initialize(to: ph_plugin_t(
        abi_major: PH_ABI_MAJOR,
        abi_minor: PH_ABI_MINOR,
        struct_size: UInt32(MemoryLayout<ph_plugin_t>.size),
        flags: (box.info.isThreadSafe ? UInt32(PH_PLUGIN_THREAD_SAFE) : 0) | (box.info.neverBlocks ? UInt32(PH_PLUGIN_NEVER_BLOCKS) : 0),
        id: UnsafePointer(strdup(box.info.id)),
        version: UnsafePointer(strdup(box.info.version)),
        description: UnsafePointer(strdup(box.info.description)),
        plugin_data: Unmanaged.passRetained(box).toOpaque(),
        parse_config: { plugin, config, error in
            guard let plugin, let config else { return PH_ERR_INVALID }
            return failing(error) { try typeBox(plugin).validate(PluginConfig(config)) }
        },
        create: { plugin, host, instance, error in
            guard let plugin, let host, let instance else { return PH_ERR_INVALID }
            return failing(error) {
                let wrapper = PluginHost(host)
                let object = try typeBox(plugin).make(wrapper)
                instance.pointee = Unmanaged.passRetained(InstanceBox(plugin: object, host: wrapper)).toOpaque()
            }
        },
        start: { instance, error in
            failing(error) { try instanceBox(instance).plugin.start() }
        },
        stop: { instance, error in
            failing(error) { try instanceBox(instance).plugin.stop() }
        },
        destroy: { instance in
            guard let instance else { return }
            let box = Unmanaged<InstanceBox>.fromOpaque(instance).takeRetainedValue()
            // The handlers hold closures that may capture the host or the plugin object (a
            // cycle through `PluginHost.handlers`): drop them first, then the box releases the
            // plugin object and the host wrapper when it goes out of scope here.
            box.host.releaseHandlers()
        },
        get_extension: { instance, id in
            guard let instance, let id else { return nil }
            return instanceBox(instance).plugin.pluginExtension(String(cString: id))
        },
        save_state: { instance, write, sink, error in
            var result: [UInt8]?
            let status = failing(error) { result = try instanceBox(instance).plugin.saveState() }
            guard status == PH_OK else { return status }
            guard let bytes = result, let write else { return PH_ERR_NOT_FOUND }
            return bytes.withUnsafeBytes { write(sink, $0.baseAddress, $0.count) }
        },
        restore_state: { instance, version, bytes, length, error in
            let state = bytes.map { Array(UnsafeRawBufferPointer(start: $0, count: length)) } ?? []
            let from = version.map { String(cString: $0) } ?? ""
            return failing(error) { try instanceBox(instance).plugin.restoreState(state, from: from) }
        }
    ))
    return descriptor
}

private func typeBox(_ plugin: UnsafePointer<ph_plugin_t>) -> PluginTypeBox {
    Unmanaged<PluginTypeBox>.fromOpaque(plugin.pointee.plugin_data).takeUnretainedValue()
}

private func instanceBox(_ instance: UnsafeMutableRawPointer?) -> InstanceBox {
    Unmanaged<InstanceBox>.fromOpaque(instance!).takeUnretainedValue()
}

/// Runs `body`, turning a thrown error into PH_ERR_FAILED and its message.
private func failing(_ message: UnsafeMutablePointer<ph_message_t>?, _ body: () throws -> Void) -> ph_status_t {
    do {
        try body()
        return PH_OK
    } catch {
        MessageWriter.write("\(error)", to: message)
        return PH_ERR_FAILED
    }
}
