import CPluginABI
import Logging
import Synchronization

/// One created plugin instance and its lifecycle, which the host drives
/// exactly once each and in order: create → start → stop → destroy.
///
/// All lifecycle calls come from the control thread, and all go through the
/// context's ``PluginOwner`` (its lock, a message buffer, the failure wording).
final class PluginInstance: @unchecked Sendable {
    // @unchecked Sendable: `state` and `handle` change only on the control
    // thread (lifecycle calls); other threads read only immutable members.

    enum State { case created, started, startFailed, stopped, destroyed }

    let loaded: LoadedPlugin
    let context: PluginContext
    /// The `[plugin.ALIAS]` table it was created with (a reload compares it).
    let configTable: [String: ConfigValue]
    /// The `[isolation.ALIAS]` settings it was created with (a reload compares them).
    let isolation: IsolationSettings
    private(set) var state: State
    private var handle: UnsafeMutableRawPointer?

    var alias: String { context.alias }
    /// The way into the plugin's code.
    private var owner: PluginOwner { context.owner }

    private init(loaded: LoadedPlugin, context: PluginContext, handle: UnsafeMutableRawPointer?,
                 configTable: [String: ConfigValue], isolation: IsolationSettings) {
        self.loaded = loaded
        self.context = context
        self.handle = handle
        self.configTable = configTable
        self.isolation = isolation
        self.state = .created
    }

    /// Calls the plugin's `create`, recording what it registers in `registrations`.
    static func create(
        _ prepared: PreparedPlugin, registrations: PluginRegistrations, cacheLimit: Int, cacheBytes: Int, logger: Logger
    ) throws(PluginError) -> PluginInstance {
        let loaded = prepared.loaded
        let context = PluginContext(
            alias: loaded.entry.alias, libraryPath: loaded.entry.libraryPath,
            configuration: prepared.configuration, threadSafe: loaded.isThreadSafe, registrations: registrations,
            cache: PluginCache(alias: loaded.entry.alias, fingerprint: Self.cacheNamespace(of: prepared), limit: cacheLimit,
                               byteLimit: cacheBytes),
            logger: logger,
            build: PluginOwner.Build(version: loaded.version, sha256: loaded.contentHash, neverBlocks: loaded.neverBlocks,
                                     record: loaded.callRecord))
        context.creating.store(true, ordering: .releasing)
        defer { context.creating.store(false, ordering: .releasing) }
        var handle: UnsafeMutableRawPointer?
        try context.owner.callChecked(.create, .createFailed, .returned("create")) {
            loaded.descriptor.pointee.create(loaded.descriptor, context.host, &handle, $0)
        }
        return PluginInstance(loaded: loaded, context: context, handle: handle, configTable: prepared.configTable,
                              isolation: prepared.isolation)
    }

    /// The cache namespace of a build as configured: its library's SHA-256 and its config table, so
    /// every worker's instance of it shares one, and a new build or config starts empty.
    static func cacheNamespace(of prepared: PreparedPlugin) -> String {
        let config = prepared.configTable.keys.sorted().map { "\($0)=\(prepared.configTable[$0]!.json)" }.joined(separator: "\n")
        var hash: UInt64 = 0xcbf29ce484222325
        for byte in config.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100000001b3 }
        let hex = String(hash, radix: 16)
        return String(prepared.loaded.contentHash.prefix(64)) + "-" + String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// Asks the plugin for its state to hand to a successor (ABI 1.1 `save_state`).
    /// - Returns: The bytes, or nil when the plugin has no `save_state` or nothing to hand over.
    func saveState() throws(PluginError) -> [UInt8]? {
        guard let save = loaded.saveState, state == .started else { return nil }
        let handle = self.handle
        var bytes: [UInt8] = []
        let result = withUnsafeMutablePointer(to: &bytes) { sink in
            owner.call(.saveState) { save(handle, { sink, data, length in
                guard let sink, data != nil || length == 0 else { return PH_ERR_INVALID }
                sink.assumingMemoryBound(to: [UInt8].self).pointee += HostAPI.bytes(data, length)
                return PH_OK
            }, sink, $0) }
        }
        if result.status == PH_ERR_NOT_FOUND { return nil }
        try owner.check(result, .stateHandoffFailed, .prefixed("save_state of version \(loaded.version)"))
        return bytes
    }

    /// Hands `bytes`, saved by `version` of the plugin, to this new instance (ABI 1.1 `restore_state`), before it starts.
    /// - Returns: Whether the plugin took them (false when it has no `restore_state`).
    @discardableResult
    func restoreState(_ bytes: [UInt8], from version: String) throws(PluginError) -> Bool {
        guard let restore = loaded.restoreState else { return false }
        precondition(state == .created, "restore_state after start")
        let handle = self.handle
        let result = version.withCString { cVersion in
            bytes.withUnsafeBytes { buffer in
                owner.call(.restoreState) { restore(handle, cVersion, buffer.baseAddress, buffer.count, $0) }
            }
        }
        try owner.check(result, .stateHandoffFailed, .prefixed("restore_state of state from version \(version)"))
        return true
    }

    /// Calls `start` (if the plugin has one).
    func start() throws(PluginError) {
        precondition(state == .created, "start called twice")
        guard let start = loaded.descriptor.pointee.start else {
            state = .started
            return
        }
        let handle = self.handle
        do {
            try owner.callChecked(.start, .startFailed, .returned("start")) { start(handle, $0) }
        } catch {
            state = .startFailed
            throw error
        }
        state = .started
    }

    /// Calls `stop` once, only after a successful start; logs a failure.
    func stop() {
        guard state == .started else { return }
        state = .stopped
        guard let stop = loaded.descriptor.pointee.stop else { return }
        let handle = self.handle
        owner.callLogged(.stop, .prefixed("stop failed")) { stop(handle, $0) }
    }

    /// Calls `destroy` once.
    func destroy() {
        guard state != .destroyed else { return }
        if state == .started { stop() }
        state = .destroyed
        let handle = self.handle
        self.handle = nil
        owner.withLock(.destroy) { loaded.descriptor.pointee.destroy(handle) }
        // From here on the plugin's table answers PH_ERR_STATE: a thread of its that outlived destroy finds nothing freed.
        context.retireHost()
        context.attach(to: nil)
        context.registrations.clear()
        // Its cache namespace stays: other workers' instances of the same build may still use it,
        // and a new build or config gets a namespace of its own (see PluginCache).
    }
}
