#if canImport(Glibc)
import Glibc
#endif
import CPluginABI
import Logging
import Synchronization

/// Everything the host keeps for one plugin instance and hands to it as its
/// `ph_host_t`: alias, config, lock, cache, and the generation it belongs to.
final class PluginContext: @unchecked Sendable {
    // @unchecked Sendable: the immutable members are safe to share; `builder` is
    // touched only by the control thread while `creating` is true; the generation
    // pointer is atomic.

    /// The alias, e.g. `audit`.
    let alias: String
    /// The plugin's library, for messages.
    let libraryPath: String
    /// Whether the host offers the HTTP extension to this plugin.
    let servesHTTP: Bool
    /// The alias as a C string, valid as long as the context.
    let cAlias: UnsafeMutablePointer<CChar>
    /// Position in the host config's order (priority).
    let order: Int
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
    /// The registrations of the generation being built (control thread, during create only).
    var builder: GenerationBuilder?
    /// The generation this instance serves in (unretained; the runtime keeps it alive longer than this context).
    private let generationPointer = Atomic<UnsafeRawPointer?>(nil)

    init(alias: String, libraryPath: String, order: Int, configuration: PluginConfiguration, threadSafe: Bool,
         servesHTTP: Bool, cacheLimit: Int, logger: Logger) {
        self.alias = alias
        self.libraryPath = libraryPath
        self.servesHTTP = servesHTTP
        self.cAlias = strdup(alias)!
        self.order = order
        self.configuration = configuration
        self.lock = threadSafe ? nil : PluginLock()
        var logger = logger
        logger[metadataKey: "plugin"] = .string(alias)
        self.logger = logger
        self.cache = PluginCache(limit: cacheLimit)
        self.host = .allocate(capacity: 1)
        host.initialize(to: HostAPI.table(cAlias: cAlias, config: configuration.raw))
        host.pointee.host_data = Unmanaged.passUnretained(self).toOpaque()
    }

    deinit {
        host.deinitialize(count: 1)
        host.deallocate()
        free(cAlias)
    }

    /// The builder to register with, or nil outside this plugin's `create` (registration then answers PH_ERR_STATE).
    var registrationBuilder: GenerationBuilder? {
        creating.load(ordering: .acquiring) ? builder : nil
    }

    /// The generation this instance is part of, once frozen.
    var generation: Generation? {
        generationPointer.load(ordering: .acquiring).map { Unmanaged<Generation>.fromOpaque($0).takeUnretainedValue() }
    }

    /// Points the instance at `generation` (which must outlive this context).
    func attach(to generation: Generation) {
        generationPointer.store(Unmanaged.passUnretained(generation).toOpaque(), ordering: .releasing)
    }

    /// The context behind a `ph_host_t` the plugin passed back.
    static func from(_ host: UnsafePointer<ph_host_t>) -> PluginContext {
        Unmanaged<PluginContext>.fromOpaque(host.pointee.host_data).takeUnretainedValue()
    }
}
