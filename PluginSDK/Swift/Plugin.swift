/// What a plugin written in Swift implements. Export it with ``exportPlugin(_:hostABIMajor:)``
/// from one `@_cdecl` function, the entry the plugin's manifest names:
///
/// ```swift
/// import PluginSDK
///
/// final class Greeter: Plugin {
///     static let info = PluginInfo(id: "com.example.greeter", version: "1.0.0")
///
///     init(host: PluginHost) throws {
///         try host.subscribe(to: "app.hello") { event in host.log(.info, "got \(event.text)") }
///     }
/// }
///
/// @_cdecl("greeter_entry")
/// public func greeterEntry(_ major: UInt32, _ minor: UInt32) -> UnsafeRawPointer? {
///     exportPlugin(Greeter.self, hostABIMajor: major)
/// }
/// ```
///
/// The host calls, exactly once each and in order: ``validate(config:)``,
/// ``init(host:)``, ``start()``, ``stop()``, then releases the instance; around a hot
/// reload also ``saveState()`` (on the old instance) and ``restoreState(_:from:)`` (on the
/// new one). No Swift type crosses into the host: the SDK turns all of this into the
/// C ABI of `plughost/plugin.h` (module `CPluginABI`, see <doc:TheCABI>).
public protocol Plugin: AnyObject {
    /// The plugin's id, version and thread-safety.
    static var info: PluginInfo { get }

    /// Checks the plugin's config before anything starts; throw to refuse it,
    /// naming the key. The default refuses any key (the plugin takes no config).
    static func validate(config: PluginConfig) throws

    /// Creates the instance: subscribe to events and provide services here.
    init(host: PluginHost) throws

    /// Runs after every plugin was created; services of others can be looked up. Default: nothing.
    func start() throws

    /// Runs once at shutdown, after a successful start. Default: nothing.
    func stop() throws

    /// Hands this instance's state to the instance that replaces it when the
    /// host reloads the plugin (a new build with the same ``PluginInfo/id``, or a new
    /// config): return the bytes, or nil to hand nothing over. Called on the old instance
    /// while it still serves, just before the new one starts: changes after it returns are
    /// not carried over. Throwing cancels the reload (the old instance keeps serving).
    /// Default: nil. See <doc:StateHandoff>.
    func saveState() throws -> [UInt8]?

    /// Takes over what the previous instance's ``saveState()`` returned; `version`
    /// is that instance's ``PluginInfo/version``. Called after `init(host:)`,
    /// before ``start()``; throwing cancels the reload. Default: ignores it.
    func restoreState(_ state: [UInt8], from version: String) throws

    /// An extension this plugin offers by versioned id (the descriptor's `get_extension`):
    /// a pointer to a C struct the plugin owns, valid until the instance is released, or
    /// nil. Called from any thread. Default: nil (no extension).
    func pluginExtension(_ id: String) -> UnsafeRawPointer?
}

extension Plugin {
    /// Refuses any config key.
    public static func validate(config: PluginConfig) throws {
        if let key = config.keys.first { throw PluginFailure("plugin takes no config, found key '\(key)'") }
    }

    /// No extension.
    public func pluginExtension(_ id: String) -> UnsafeRawPointer? { nil }

    /// Does nothing.
    public func start() throws {}

    /// Does nothing.
    public func stop() throws {}

    /// Hands nothing over.
    public func saveState() throws -> [UInt8]? { nil }

    /// Ignores the state.
    public func restoreState(_ state: [UInt8], from version: String) throws {}
}

/// Static facts about a plugin, copied into its C descriptor.
public struct PluginInfo: Sendable {
    /// Stable identifier, e.g. `com.example.greeter`.
    public var id: String
    /// Version string, e.g. `1.0.0`.
    public var version: String
    /// One line for `plughost list`.
    public var description: String
    /// Whether every call may happen concurrently; if false the host serialises them.
    public var isThreadSafe: Bool
    /// Whether no call into the plugin can wait (no sleep, no I/O wait, no long lock):
    /// `plughost serve` then runs its endpoints and wrappers inline on the threads that
    /// serve connections instead of on its blocking pool (`PH_PLUGIN_NEVER_BLOCKS`).
    /// Set it only when that holds; the scaffolds of `plughost new` set it because their
    /// code never waits, and say to remove it before adding code that does.
    public var neverBlocks: Bool

    /// Creates the info.
    public init(id: String, version: String, description: String = "", isThreadSafe: Bool = false, neverBlocks: Bool = false) {
        self.id = id
        self.version = version
        self.description = description
        self.isThreadSafe = isThreadSafe
        self.neverBlocks = neverBlocks
    }
}

/// An error with a message for the host's log. Any other error thrown by a
/// plugin is reported by its description.
public struct PluginFailure: Error, CustomStringConvertible {
    /// The message.
    public var description: String
    /// Creates a failure with `message`.
    public init(_ message: String) { self.description = message }
}
