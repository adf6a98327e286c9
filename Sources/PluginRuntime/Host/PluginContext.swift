#if canImport(Glibc)
import Glibc
#endif
import CHostGuard
import CPluginABI
import Logging
import Synchronization

/// Everything the host keeps for one plugin instance and hands to it as its
/// `ph_host_t`: alias, config, lock, cache, and the generation it belongs to.
final class PluginContext: @unchecked Sendable {
    // @unchecked Sendable: the immutable members are safe to share; `registrations`
    // is written only by the control thread while `creating` is true and read by
    // it afterwards; the generation pointer is atomic.

    /// The alias, e.g. `audit`.
    let alias: String
    /// The plugin's library, for messages.
    let libraryPath: String
    /// Alias, library, logger and lock, as registrations carry them.
    let owner: PluginOwner
    /// The alias as a C string, valid as long as the context.
    let cAlias: UnsafeMutablePointer<CChar>
    /// The plugin's config, valid as long as the context.
    let configuration: PluginConfiguration
    /// Serialises calls into a plugin that is not thread-safe; nil for a thread-safe one.
    let lock: PluginLock?
    /// Log lines carry `plugin=<alias>`.
    let logger: Logger
    /// The plugin's cache namespace.
    let cache: PluginCache
    /// The C view handed to the plugin.
    let host: UnsafeMutablePointer<ph_host_t>
    /// True while the plugin's `create` runs: subscribe and provide_service work only then.
    let creating = Atomic<Bool>(false)
    /// What the plugin registered during `create` (filled only then; read when generations are assembled).
    let registrations: PluginRegistrations
    /// Aliases whose services this plugin looked up: a reload that replaces one re-creates this plugin too.
    private let providersUsed = Mutex<Set<String>>([])
    /// Service ids this plugin looked up and did not find: a reload that brings a provider re-creates it.
    private let servicesMissed = Mutex<Set<String>>([])
    /// The generation this instance serves in; calls the plugin makes into the host are counted in it.
    let slot = GenerationSlot()
    private let generationPointer = Atomic<UnsafeRawPointer?>(nil)

    init(alias: String, libraryPath: String, configuration: PluginConfiguration, threadSafe: Bool,
         registrations: PluginRegistrations, cache: PluginCache, logger: Logger, build: PluginOwner.Build = .unknown) {
        self.alias = alias
        self.libraryPath = libraryPath
        self.registrations = registrations
        self.cAlias = strdup(alias)!
        self.configuration = configuration
        self.lock = threadSafe ? nil : PluginLock()
        var logger = logger
        logger[metadataKey: "plugin"] = .string(alias)
        self.logger = logger
        self.cache = cache
        self.owner = PluginOwner(alias: alias, libraryPath: libraryPath, logger: self.logger, lock: self.lock, build: build)
        registrations.openExtensions(for: owner)
        // The table stays valid for the life of the process behind its guard (see retireHost).
        self.host = ph_host_guard_new(MemoryLayout<ph_host_t>.size, nil)!.bindMemory(to: ph_host_t.self, capacity: 1)
        host.initialize(to: HostAPI.table(cAlias: cAlias, config: configuration.raw))
        ph_host_guard_open(host, Unmanaged.passUnretained(self).toOpaque())
    }

    deinit {
        retireHost()
    }

    /// Retires the plugin's `ph_host_t` once its instance is destroyed: every call
    /// from then on (a plugin thread that outlived `destroy`) answers PH_ERR_STATE
    /// (NULL, or nothing) instead of reaching this freed context; calls already
    /// inside finish first. The table, its alias string and a stand-in empty
    /// config stay valid for the life of the process (a few hundred bytes per instance).
    func retireHost() {
        guard ph_host_guard_retired(host) == 0 else { return }
        ph_host_guard_retire(host)
        host.pointee.config = PluginConfiguration.retired
    }

    /// The registrations to add to, or nil outside this plugin's `create` (registration then answers PH_ERR_STATE).
    var openRegistrations: PluginRegistrations? {
        creating.load(ordering: .acquiring) ? registrations : nil
    }

    /// Points the instance at `generation` (which the runtime keeps alive longer), or at none once it is stopped.
    func attach(to generation: Generation?) {
        slot.store(generation)
    }

    /// Records that the plugin holds a service of `provider`.
    func noteUse(of provider: String) {
        guard provider != alias else { return }
        providersUsed.withLock { _ = $0.insert(provider) }
    }

    /// The aliases whose services the plugin looked up.
    var providers: Set<String> { providersUsed.withLock { $0 } }

    /// Records that the plugin looked up service `id` and got NULL.
    func noteMissing(_ id: String) {
        servicesMissed.withLock { _ = $0.insert(id) }
    }

    /// The service ids the plugin looked up in vain.
    var missedServices: Set<String> { servicesMissed.withLock { $0 } }

    /// Runs `body` with the context behind a `ph_host_t` the plugin passed back, counted in
    /// its guard so it cannot be freed meanwhile; `retired` for a NULL or retired table.
    @inline(__always)
    static func with<R>(_ host: UnsafePointer<ph_host_t>?, retired: R, _ body: (PluginContext) -> R) -> R {
        guard let host, let instance = ph_host_guard_enter(host) else { return retired }
        defer { ph_host_guard_leave(host) }
        return body(Unmanaged<PluginContext>.fromOpaque(instance).takeUnretainedValue())
    }
}
